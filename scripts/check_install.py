"""Install the core wheel and one engine wheel from dist/ in a fresh venv, and import them.

Run after `make build`. For each engine, pip installs only the core wheel and that
engine's wheel (the `==` pin resolves to the local core wheel through
`--find-links dist`; Django and the driver come from PyPI), then checks that
`dj_db_conn_pool.backends.<engine>.base` imports from the venv and that every
other engine is absent. Print one line per engine; exit 1 if any fails.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from check_dist import CORE, ROOT, CheckFailed, Package, discover_packages, find_wheel

# The extra that brings each engine's driver, for engines whose driver is optional.
DRIVER_EXTRAS = {"postgresql": "psycopg"}

SNIPPET = """
import importlib, sys
import django
from django.conf import settings

settings.configure()
django.setup()
engine, version, *absent = sys.argv[1:]
base = importlib.import_module(f"dj_db_conn_pool.backends.{engine}.base")
if not base.__file__.startswith(sys.prefix):
    sys.exit(f"{base.__name__} comes from {base.__file__}, not from the venv")
import dj_db_conn_pool
if dj_db_conn_pool.__version__ != version:
    sys.exit(f"dj_db_conn_pool.__version__ is {dj_db_conn_pool.__version__}, not {version}")
for other in absent:
    name = f"dj_db_conn_pool.backends.{other}"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:  # the engine is there but its driver is not
            sys.exit(f"{name} is installed: importing it failed on {error.name}")
    else:
        sys.exit(f"{name} is importable with only the {engine} wheel installed")
"""


def check_engine(core: Package, engine: Package, others: list[str], dist: Path) -> str:
    """Install core + the engine's wheel in a new venv and run SNIPPET there."""
    core_wheel, engine_wheel = find_wheel(core, dist), find_wheel(engine, dist)
    extra = DRIVER_EXTRAS.get(engine.folder)
    requirement = f"{engine_wheel}[{extra}]" if extra else str(engine_wheel)
    with tempfile.TemporaryDirectory(prefix=f"check-install-{engine.folder}-") as tmp:
        venv.create(tmp, with_pip=True)
        python = str(Path(tmp) / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        steps = {
            "pip install": [*pip, "--find-links", str(dist), str(core_wheel), requirement],
            "the import check": [python, "-c", SNIPPET, engine.folder, engine.version, *others],
        }
        for step, command in steps.items():
            # Run away from the repository so that nothing imports from its source tree.
            result = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            if result.returncode != 0:
                output = (result.stdout + result.stderr).strip()
                raise CheckFailed(f"{step} failed in a venv with {requirement}:\n{output}")
    absent = ", ".join(others) or "no other engine"
    return f"core + {engine.folder} wheels: {engine.folder} imports, {absent} absent"


def main(argv: list[str]) -> int:
    """Check every engine against the wheels in dist/ (or the folder given); return 1 on failure."""
    dist = Path(argv[0]).resolve() if argv else ROOT / "dist"
    try:
        packages = discover_packages()
    except CheckFailed as error:
        print(f"FAIL  packages: {error}")
        return 1
    core = next(p for p in packages if p.folder == CORE)
    engines = [p for p in packages if p.folder != CORE]
    failed = 0
    for engine in engines:
        others = [p.folder for p in engines if p is not engine]
        try:
            print(f"ok    install {engine.folder}: {check_engine(core, engine, others, dist)}")
        except CheckFailed as error:
            failed += 1
            print(f"FAIL  install {engine.folder}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
