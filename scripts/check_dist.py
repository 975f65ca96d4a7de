"""Check the wheels and sdists in dist/ before a release.

Run after `make build`: one version everywhere, sibling pins `==` that version,
each engine wheel holding only its own folder, the core wheel holding the
namespace `__init__.py` files and no engine, and `twine check` passing.
Print one line per check; exit 1 if any fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import tomllib  # stdlib from 3.11; ruff, at target py310, sorts it as third-party

ROOT = Path(__file__).resolve().parent.parent
CORE = "core"
NAMESPACE = "dj_db_conn_pool"
CORE_FILES = (
    f"{NAMESPACE}/__init__.py",
    f"{NAMESPACE}/backends/__init__.py",
    f"{NAMESPACE}/py.typed",
)
# A PEP 508 requirement: its name, its extras, then the version specifier up to any marker.
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")


@dataclass(frozen=True)
class Package:
    """One distribution under packages/: its folder name, project name and version."""

    folder: str
    name: str
    version: str
    project: dict[str, Any]

    @property
    def wheel_stem(self) -> str:
        """Return the name as wheel and sdist file names spell it."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


class CheckFailed(Exception):
    """A check found a problem; the message says what and where."""


def canonical(name: str) -> str:
    """Return the PEP 503 form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def discover_packages(root: Path = ROOT) -> list[Package]:
    """Return every package that has a packages/<folder>/pyproject.toml."""
    packages = []
    for pyproject in sorted(root.glob("packages/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if not isinstance(project.get("name"), str) or not isinstance(project.get("version"), str):
            raise CheckFailed(f"{pyproject} lacks a static [project] name and version")
        packages.append(
            Package(pyproject.parent.name, project["name"], project["version"], project)
        )
    if not any(p.folder == CORE for p in packages):
        raise CheckFailed(f"no packages/{CORE}/pyproject.toml under {root}")
    return packages


def sibling_pins(packages: list[Package]) -> Iterator[tuple[str, str, str]]:
    """Yield (where, requirement, specifier) for each dependency on a sibling package."""
    siblings = {canonical(p.name) for p in packages}
    for package in packages:
        tables = {"dependencies": package.project.get("dependencies", [])}
        for extra, requirements in package.project.get("optional-dependencies", {}).items():
            tables[f"optional-dependencies.{extra}"] = requirements
        for table, requirements in tables.items():
            for requirement in requirements:
                match = REQUIREMENT.match(requirement)
                if match and canonical(match[1]) in siblings:
                    yield f"{package.folder} {table}", requirement, re.sub(r"\s", "", match[3])


def check_versions(packages: list[Package]) -> str:
    """Check that all packages share one version and every sibling pin is `==` to it."""
    versions = {p.version for p in packages}
    if len(versions) != 1:
        found = ", ".join(f"{p.folder}={p.version}" for p in packages)
        raise CheckFailed(f"the packages disagree on the version: {found}")
    version = versions.pop()
    pins = list(sibling_pins(packages))
    bad = [f"{where}: {req!r}" for where, req, spec in pins if spec != f"=={version}"]
    if bad:
        raise CheckFailed(f"sibling pins not =={version}: " + "; ".join(bad))
    return f"{len(packages)} packages at {version}, {len(pins)} sibling pins =={version}"


def find_wheel(package: Package, dist: Path) -> Path:
    """Return the one wheel of this package in dist/; fail unless it is at its version."""
    wheels = sorted(dist.glob(f"{package.wheel_stem}-*.whl"))
    if len(wheels) != 1:
        found = ", ".join(w.name for w in wheels) or "none"
        raise CheckFailed(f"expected one wheel of {package.name} in {dist}, found {found}")
    if not wheels[0].name.startswith(f"{package.wheel_stem}-{package.version}-"):
        raise CheckFailed(f"{wheels[0].name} is not version {package.version}")
    return wheels[0]


def wheel_files(package: Package, dist: Path) -> list[str]:
    """Return the file names inside the wheel of this package."""
    with zipfile.ZipFile(find_wheel(package, dist)) as archive:
        return [n for n in archive.namelist() if not n.endswith("/")]


def dist_info(package: Package) -> str:
    """Return the wheel's metadata folder for this package."""
    return f"{package.wheel_stem}-{package.version}.dist-info/"


def engine_folders(package: Package, root: Path = ROOT) -> list[str]:
    """Return the backend folders an engine ships: its own, plus any its wheel declares.

    The postgresql package also ships the postgis engine: its pyproject's
    hatch `only-include` names both. Anything declared outside backends/ fails.
    """
    pyproject = tomllib.loads((root / "packages" / package.folder / "pyproject.toml").read_text())
    wheel = pyproject.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
    declared = wheel.get("wheel", {}).get("only-include", [])
    folders = {f"{NAMESPACE}/backends/{package.folder}/"}
    for path in declared:
        folder = path.removeprefix("src/").rstrip("/") + "/"
        if not re.fullmatch(rf"{NAMESPACE}/backends/[^/]+/", folder):
            raise CheckFailed(f"{package.name} declares {path!r}, which is not a backend folder")
        folders.add(folder)
    return sorted(folders)


def check_engine_wheel(package: Package, dist: Path) -> str:
    """Check that an engine wheel holds only its own backend folders and its dist-info."""
    files = wheel_files(package, dist)
    folders = engine_folders(package)
    allowed = (*folders, dist_info(package))
    stray = [f for f in files if not f.startswith(allowed)]
    shown = " and ".join(folders)
    if stray:
        raise CheckFailed(f"{package.name} wheel has files outside {shown}: {', '.join(stray)}")
    for folder in folders:
        if f"{folder}__init__.py" not in files:
            raise CheckFailed(f"{package.name} wheel lacks {folder}__init__.py")
    return f"{package.name}: {len(files)} files, all under {shown} or its dist-info"


def check_core_wheel(package: Package, dist: Path) -> str:
    """Check that the core wheel holds the namespace files and no engine folder."""
    files = wheel_files(package, dist)
    missing = [f for f in CORE_FILES if f not in files]
    if missing:
        raise CheckFailed(f"{package.name} wheel lacks {', '.join(missing)}")
    engines = sorted({f for f in files if re.match(rf"{NAMESPACE}/backends/[^/]+/", f)})
    if engines:
        raise CheckFailed(f"{package.name} wheel carries engine files: {', '.join(engines)}")
    stray = [f for f in files if not f.startswith((f"{NAMESPACE}/", dist_info(package)))]
    if stray:
        raise CheckFailed(f"{package.name} wheel has files outside {NAMESPACE}/: {stray}")
    return f"{package.name}: namespace __init__.py files and py.typed, no engine folder"


def check_twine(packages: list[Package], dist: Path) -> str:
    """Check that every package has its sdist, then run `twine check --strict` on dist/."""
    missing = [
        f"{p.wheel_stem}-{p.version}.tar.gz"
        for p in packages
        if not (dist / f"{p.wheel_stem}-{p.version}.tar.gz").is_file()
    ]
    if missing:
        raise CheckFailed(f"no sdist in {dist}: {', '.join(missing)}")
    files = sorted(str(f) for pattern in ("*.whl", "*.tar.gz") for f in dist.glob(pattern))
    command = [sys.executable, "-m", "twine", "--no-color", "check", "--strict", *files]
    # Wide enough that twine does not wrap its file names.
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise CheckFailed("twine check failed:\n" + "\n".join(line.rstrip() for line in output))
    return f"twine check --strict: {len(files)} files pass"


def main(argv: list[str]) -> int:
    """Run every check on ROOT's packages and dist/ (or the folder given); return 1 on failure."""
    dist = Path(argv[0]).resolve() if argv else ROOT / "dist"
    try:
        packages = discover_packages()
    except CheckFailed as error:
        print(f"FAIL  packages: {error}")
        return 1
    checks: list[tuple[str, Callable[[], str]]] = [("versions", partial(check_versions, packages))]
    for package in packages:
        check = check_core_wheel if package.folder == CORE else check_engine_wheel
        checks.append((f"wheel {package.folder}", partial(check, package, dist)))
    checks.append(("twine", partial(check_twine, packages, dist)))
    failed = 0
    for label, run in checks:
        try:
            print(f"ok    {label}: {run()}")
        except CheckFailed as error:
            failed += 1
            print(f"FAIL  {label}: {error}")
    if failed:
        print(f"{failed} of {len(checks)} checks failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
