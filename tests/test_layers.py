"""Imports, read with ast: no cycle and no arrow from a lower layer to a higher one; no test imports another."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Lowest first. A module belongs to the first layer naming it or a package above it; a module may import
# its own layer and the layers below, never one above.
LAYERS = [
    # Plain building blocks: errors, the AWS boundary, storage, metrics; nothing here knows about requests.
    ("foundation", ["app.errors", "app.profiles", "app.aws", "app.metrics", "app.extensions", "app.models",
                    "app.instance_files", "app.backends", "app.limit_store", "app.session_store", "app.catalogs",
                    "app.policy", "app.policy_match", "app.redirects", "app.logs", "app.clock", "app.vault",
                    "app.domain"]),
    # What services are given: the typed session, words in the visitor's language, the code budgets.
    ("session and words", ["app.sessions", "app.login", "app.i18n", "app.code_budgets"]),
    # Flows with plain signatures that raise domain errors.
    ("services", ["app.services"]),
    # Request plumbing the views share: limits, headers and session lifetimes, error pages, shared forms.
    ("web", ["app.limits", "app.security", "app.stepup", "app.session_interface", "app.error_pages", "app.forms",
             "app.static_files"]),
    # The ways in: one blueprint package per area, the operators' commands, the queue's tasks.
    ("views and commands", ["app.auth", "app.account", "app.devices", "app.session_credentials",
                            "app.long_term_credentials", "app.admin", "app.health", "app.cli", "app.policy_cli",
                            "app.reminders_cli", "app.tasks"]),
    # Building the app (settings and create_app) and the queue consumer's process around it.
    ("factory", ["app.config", "app.settings_parsers", "app.setup", "app.factory", "app.consumer", "app"]),
]
# Outside the layers: the demo (an AWS emulator and seeded account) may import the portal; the portal never
# imports it. (tools/ and bench/ are outside app/ and not read here.)
OUTSIDE = ["app.demo"]

# Known exceptions, each with what would remove it: none are left (issue 17 removed the last upward arrows
# and the queue's cycle). The test fails on any new one, and on a listed one once it is gone.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}
KNOWN_CYCLES: dict[tuple[str, ...], str] = {}


def _name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in APP.rglob("*.py")}


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The portal modules one import statement names (a submodule when `from package import submodule`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in MODULES]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    found = []
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:
            found.append(f"{base}.{alias.name}")
        elif base in MODULES:
            found.append(base)
    return found


class _Imports(ast.NodeVisitor):
    """Collect (target, line, whether only for type checkers) for every import in a module."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package, self.typing_only, self.found = module, is_package, 0, []

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            self.typing_only += 1
            for child in node.body:
                self.visit(child)
            self.typing_only -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _targets(self.module, self.is_package, node):
            if target != self.module:
                self.found.append((target, node.lineno, bool(self.typing_only)))

    visit_ImportFrom = visit_Import


def imports() -> list[tuple[str, str, int, bool]]:
    """Every (importer, imported, line, typing only) among the portal's modules, function-level ones included."""
    edges = []
    for module, path in sorted(MODULES.items()):
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        edges += [(module, target, line, typing_only) for target, line, typing_only in visitor.found]
    return edges


def layer_of(module: str) -> int | None:
    """The index of a module's layer; None for the demo."""
    if any(module == name or module.startswith(name + ".") for name in OUTSIDE):
        return None
    for index, (_title, names) in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names if name != "app"):
            return index
    if module == "app":
        return len(LAYERS) - 1
    raise AssertionError(f"{module} is in no layer: place it in tests/test_layers.py's LAYERS")


def cycles(edges) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), in the runtime import graph."""
    graph: dict[str, set[str]] = {}
    for importer, imported, _line, typing_only in edges:
        # A blueprint package makes `bp`, then imports its own view modules so their routes register, and
        # they import `bp` back: Flask's documented pattern, not a cycle between layers or areas.
        if typing_only or imported.startswith(importer + "."):
            continue
        graph.setdefault(importer, set()).add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for following in sorted(graph.get(node, ())):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    found = {tuple(group) for group in cycles(imports())}
    assert found - set(KNOWN_CYCLES) == set(), "a new import cycle"
    assert set(KNOWN_CYCLES) - found == set(), "fixed, so drop from KNOWN_CYCLES"


def test_the_cycle_finder_finds_one():
    edges = [("app.a", "app.b", 1, False), ("app.b", "app.c", 1, False), ("app.c", "app.a", 9, False),
             ("app.c", "app.d", 1, True), ("app.d", "app.c", 1, False), ("app.admin", "app.admin.routes", 1, False),
             ("app.admin.routes", "app.admin", 1, False)]
    assert cycles(edges) == [["app.a", "app.b", "app.c"]]


def test_every_module_is_placed_in_a_layer():
    for module in MODULES:
        layer_of(module)  # raises naming the module


def test_no_arrow_from_a_lower_layer_to_a_higher_one():
    upward = {}
    for importer, imported, line, _typing_only in imports():
        low, high = layer_of(importer), layer_of(imported)
        if high is None and low is not None:
            upward[(importer, imported)] = f"line {line}: the portal imports the demo"
        elif low is not None and high is not None and high > low:
            upward[(importer, imported)] = f"line {line}: {LAYERS[low][0]} imports {LAYERS[high][0]}"
    new = {edge: why for edge, why in upward.items() if edge not in KNOWN_UPWARD}
    assert new == {}, "imports from a lower layer to a higher one"
    gone = set(KNOWN_UPWARD) - set(upward)
    assert not gone, f"fixed, so drop from KNOWN_UPWARD: {sorted(gone)}"


def test_no_test_module_imports_another():
    """Shared helpers live in helper modules (own_helpers.py, admin_helpers.py...) or fixtures, never in a test file."""
    found = []
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}:{node.lineno} imports {name}" for name in names
                      if name.rpartition(".")[2].startswith("test_")]
    assert found == []


def test_test_helpers_are_imported_by_one_name():
    """`tests.e2e.steps` and `.steps` would be two copies of one module, each with its own state (the admin's spent
    TOTP steps were, and two browser tests typed the same code)."""
    found = []
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.name}:{node.lineno} imports {name}" for name in names if name.split(".")[0] == "tests"]
    assert found == []
