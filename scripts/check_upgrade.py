"""Upgrade a 1.x install to the wheels in dist/ in a fresh venv, and check what is left.

Run after `make build` (needs PyPI). In a new venv, pip installs
django-db-connection-pool[postgresql,mysql]==1.2.6 from PyPI, as a 1.x user has
it, then `pip install --find-links dist 'django-db-connection-pool[postgresql,mysql]==<version>'`.
1.x shipped every engine inside the core distribution; 2.x moves them to their own
wheels, so pip removes 1.x's copy of `dj_db_conn_pool/backends/postgresql/` while
installing the engine wheel's. Afterwards both engines must import from the
venv, every file the 2.x distributions list must exist, no 1.x file may be left
in the package, and `pip check` must pass. Print one line per check; exit 1 if any fails.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from check_dist import CORE, ROOT, CheckFailed, discover_packages

OLD = "1.2.6"
ENGINES = ("postgresql", "mysql")  # the extras, and the engine packages they bring
EXTRAS = ",".join(ENGINES)

# Run in the venv: prove that 1.x is what got installed.
OLD_SNIPPET = """
import importlib.metadata, sys
import dj_db_conn_pool.core  # 1.x's pool container; 2.x has none
version = importlib.metadata.version("django-db-connection-pool")
if version != sys.argv[1]:
    sys.exit(f"django-db-connection-pool {version} is installed, not {sys.argv[1]}")
"""

# Run in the venv after the upgrade; argv: the version, the engines, the 2.x distributions.
NEW_SNIPPET = """
import importlib, importlib.metadata, os, sys
import django
from django.conf import settings

settings.configure()
django.setup()
version, engines, *names = sys.argv[1:]
import dj_db_conn_pool
if dj_db_conn_pool.__version__ != version:
    sys.exit(f"dj_db_conn_pool.__version__ is {dj_db_conn_pool.__version__}, not {version}")
for engine in engines.split(","):
    base = importlib.import_module(f"dj_db_conn_pool.backends.{engine}.base")
    if not base.__file__.startswith(sys.prefix):
        sys.exit(f"{base.__name__} comes from {base.__file__}, not from the venv")
    if not issubclass(base.DatabaseWrapper, dj_db_conn_pool.mixin.PooledDatabaseWrapperMixin):
        sys.exit(f"{base.__name__}.DatabaseWrapper is not the pooled 2.x one")
listed = set()
for name in names:
    for file in importlib.metadata.files(name) or ():
        path = os.path.realpath(file.locate())
        if not os.path.exists(path):
            sys.exit(f"{name} {version} lists {file}, which the upgrade removed")
        listed.add(path)
package = os.path.dirname(os.path.realpath(dj_db_conn_pool.__file__))
stray = sorted(
    os.path.relpath(os.path.join(folder, file), package)
    for folder, _, files in os.walk(package)
    if "__pycache__" not in folder
    for file in files
    if os.path.realpath(os.path.join(folder, file)) not in listed
)
if stray:
    sys.exit(f"files left in dj_db_conn_pool/ that no 2.x distribution owns: {stray}")
print(f"{len(listed)} files of {len(names)} distributions, none missing, none stray")
"""


def run(step: str, command: list[str], cwd: str) -> str:
    """Run one step in the venv; return its output or raise CheckFailed with it."""
    # Away from the repository, so that nothing imports from its source tree.
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise CheckFailed(f"{step} failed:\n{output}")
    return output


def check_upgrade(dist: Path) -> str:
    """Install 1.x, upgrade to dist/'s wheels, and check the result; return a summary."""
    packages = discover_packages()
    version = next(p.version for p in packages if p.folder == CORE)
    names = [p.name for p in packages if p.folder in (CORE, *ENGINES)]
    new = f"django-db-connection-pool[{EXTRAS}]=={version}"
    with tempfile.TemporaryDirectory(prefix="check-upgrade-") as tmp:
        venv.create(tmp, with_pip=True)
        python = str(Path(tmp) / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        old = f"django-db-connection-pool[{EXTRAS}]=={OLD}"
        run(f"pip install {old}", [*pip, old], tmp)
        run(f"the {OLD} check", [python, "-c", OLD_SNIPPET, OLD], tmp)
        run(f"pip install {new}", [*pip, "--find-links", str(dist), new], tmp)
        check = [python, "-c", NEW_SNIPPET, version, EXTRAS, *names]
        summary = run("the import check", check, tmp)
        run("pip check", [python, "-m", "pip", "check"], tmp)
    return f"{OLD} -> {version} with [{EXTRAS}]: both engines import; {summary}"


def main(argv: list[str]) -> int:
    """Check the upgrade to the wheels in dist/ (or the folder given); return 1 on failure."""
    dist = Path(argv[0]).resolve() if argv else ROOT / "dist"
    try:
        print(f"ok    upgrade {check_upgrade(dist)}")
    except CheckFailed as error:
        print(f"FAIL  upgrade: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
