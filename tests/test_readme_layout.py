"""The README's layout section names every module and folder of the tree, and nothing that is gone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout() -> str:
    """Return the code block under README's "## Development" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Development\n", 1)[1]
    return section.split("```", 2)[1]


def test_every_app_module_and_package_is_in_the_readme_layout():
    layout = _layout()
    app = ROOT / "app"
    missing = [f"app/{path.name}" for path in app.glob("*.py")
               if path.name != "__init__.py" and not re.search(rf"\b{re.escape(path.name)}\b", layout)]
    missing += [f"app/{path.name}/" for path in app.iterdir()
                if path.is_dir() and not path.name.startswith(("_", ".")) and f"{path.name}/" not in layout]
    services = layout.split("services/", 1)[1].split("\n  auth/", 1)[0]
    missing += [f"app/services/{path.name}" for path in (app / "services").glob("*.py")
                if path.name != "__init__.py" and not re.search(rf"\b{path.stem}\b", services)]
    folders = [path for path in ROOT.iterdir() if path.is_dir() and ((path / "__init__.py").exists() or path.name in (
        "bench", "docker", "docs", "migrations", "templates", "static", "tests"))]
    missing += [f"{path.name}/" for path in folders if f"\n{path.name}/" not in layout]
    assert not missing, f"README's layout section does not name: {missing}"


def test_every_file_the_readme_layout_names_exists():
    layout = _layout()
    names = set(re.findall(r"\b[\w.-]+\.(?:py|conf|md)\b", layout))
    names |= {name + "/" for name in re.findall(r"(?:^|\s)([a-z0-9_]+)/(?=\s)", layout)}
    tree = [path for path in ROOT.rglob("*") if not {".venv", ".git", "node_modules"} & set(path.parts)]
    every = {path.name for path in tree} | {path.name + "/" for path in tree if path.is_dir()}
    assert not names - every, f"README's layout section names what the tree lacks: {sorted(names - every)}"
