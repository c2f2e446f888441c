"""The compiled requirements*.txt match their requirements*.in sources, pin everything with hashes, and layer.

Offline: this proves every requirement of each .in (and of the .in files it includes) is pinned, with hashes,
at a version its specifier allows, and annotated as coming from that .in (so one added to an .in after
the last compile fails even when it was pinned already as another's dependency); that no .txt still
notes a requirement its .in dropped; that the runtime's pins hold in the demo lock and the demo's in the dev lock;
and that every locked package installed here at its locked version has its own dependencies locked too.
It cannot prove that pip-compile would pick the same versions today: that needs PyPI (`make requirements`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["requirements", "requirements-demo", "requirements-dev"]  # each includes the one before
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


@dataclass
class Source:
    """One .in file: its own requirements and the files it includes (-r) or is constrained by (-c)."""

    requirements: dict[str, Requirement] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)


@dataclass
class Pin:
    """One package in a .txt: its version, hashes and where pip-compile says it comes from."""

    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_source(name: str) -> Source:
    """Parse requirements/<name>.in."""
    source = Source()
    for raw in (ROOT / f"{name}.in").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "-c ")):
            (source.includes if line.startswith("-r") else source.constraints).append(line[3:].strip())
            continue
        requirement = Requirement(line)
        source.requirements[canonicalize_name(requirement.name)] = requirement
    return source


def sources(name: str) -> list[str]:
    """Return an .in file's name and those of every .in file it includes."""
    return [source for included in read_source(name).includes for source in sources(included.removesuffix(".in"))
            ] + [name]


def all_requirements(name: str) -> dict[str, Requirement]:
    """Return the requirements of an .in file and of every .in file it includes."""
    source = read_source(name)
    found = {}
    for included in source.includes:
        found.update(all_requirements(included.removesuffix(".in")))
    return {**found, **source.requirements}


def read_lock(name: str) -> dict[str, Pin]:
    """Parse <name>.txt as pip-compile writes it: pins, their --hash lines and their '# via' lines."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for line in (ROOT / f"{name}.txt").read_text().splitlines():
        stripped = line.strip()
        if match := _PIN.match(line):
            current = pins[canonicalize_name(match.group(1))] = Pin(match.group(2))
            in_via = False
        elif stripped.startswith("--hash=sha256:") and current is not None:
            current.hashes.append(stripped.split(":", 1)[1].rstrip(" \\"))
        elif stripped.startswith("# via") and current is not None:
            in_via = True
            rest = stripped.removeprefix("# via").strip()
            if rest:
                current.via.append(rest)
        elif in_via and stripped.startswith("#   ") and current is not None:
            current.via.append(stripped.removeprefix("#").strip())
        elif stripped and not stripped.startswith("#"):
            raise AssertionError(f"{name}.txt: a line pip-compile does not write: {line!r}")
        else:
            in_via = in_via and stripped.startswith("#   ")
    return pins


@pytest.mark.parametrize("name", LAYERS)
def test_every_requirement_is_pinned_with_hashes_and_annotated(name):
    wanted = all_requirements(name)
    pins = read_lock(name)
    assert wanted, f"{name}.in is empty"
    stale = []
    for package, requirement in wanted.items():
        pin = pins.get(package)
        if pin is None or not requirement.specifier.contains(pin.version, prereleases=True):
            stale.append(f"{requirement} ({'missing' if pin is None else pin.version})")
    assert not stale, f"{name}.txt is stale: run `make requirements` ({', '.join(stale)})"
    # pip-compile notes every direct requirement as coming from its .in: one pinned only as another's
    # dependency so far was added to the .in after the last compile.
    unnoted = [f"{package} ({source}.in)" for source in sources(name) for package in read_source(source).requirements
               if f"-r {source}.in" not in pins[package].via]
    assert not unnoted, f"{name}.txt is stale: run `make requirements` ({', '.join(unnoted)})"
    for package, pin in pins.items():
        assert pin.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes), package
        assert pin.via, f"{name}.txt: {package} says nothing of where it comes from"
        for origin in pin.via:
            # Either an .in file that names the package, or another package of the same lock needing it.
            if origin.startswith("-r "):
                source = origin[3:].removesuffix(".in")
                assert package in read_source(source).requirements, \
                    f"{name}.txt: {package} is annotated '-r {source}.in', which no longer names it (make requirements)"
            elif origin.startswith("-c "):
                assert origin[3:].removesuffix(".txt") in LAYERS, origin
            else:
                assert canonicalize_name(Requirement(origin).name) in pins, f"{name}.txt: {package} via {origin}"


@pytest.mark.parametrize(("inner", "outer"), list(zip(LAYERS, LAYERS[1:], strict=False)))
def test_each_layer_keeps_the_pins_of_the_one_it_includes(inner, outer):
    assert read_source(outer).includes == [f"{inner}.in"]
    assert read_source(outer).constraints == [f"{inner}.txt"]
    inner_pins, outer_pins = read_lock(inner), read_lock(outer)
    differ = {package: (pin.version, outer_pins[package].version if package in outer_pins else None)
              for package, pin in inner_pins.items()
              if package not in outer_pins or outer_pins[package].version != pin.version
              or outer_pins[package].hashes != pin.hashes}
    assert not differ, f"{outer}.txt disagrees with {inner}.txt: run `make requirements` ({differ})"


@pytest.mark.parametrize("name", LAYERS)
def test_dependencies_of_locked_packages_are_locked(name):
    pins = read_lock(name)
    wanted = all_requirements(name)
    checked = 0
    missing = []
    for package, pin in pins.items():
        try:
            installed = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing to read its dependencies from
        if installed.version != pin.version:
            continue
        checked += 1
        extras = set(wanted[package].extras) if package in wanted else set()
        for line in installed.requires or []:
            dependency = Requirement(line)
            applies = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in extras | {""})
            if applies and canonicalize_name(dependency.name) not in pins:
                missing.append(f"{package} needs {dependency}")
    assert not missing, f"{name}.txt lacks transitive pins: run `make requirements` ({missing})"
    # The venv the tests run in is installed from these locks: most of each one is here to be checked.
    assert checked >= len(pins) * 0.9, (name, checked, len(pins))
