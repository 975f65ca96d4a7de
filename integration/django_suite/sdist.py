"""Django's tests/ folder, from the sdist of exactly the installed Django."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

from .servers import ROOT

SDIST_CACHE = ROOT / ".cache" / "django-sdist"
SUITE_CACHE = ROOT / ".cache" / "django-suite"


def installed_django() -> str:
    """Return the version of the Django this interpreter imports."""
    return version("Django")


def download(django_version: str) -> Path:
    """Return the sdist of this Django version, downloading it once."""
    for name in (f"django-{django_version}.tar.gz", f"Django-{django_version}.tar.gz"):
        if (SDIST_CACHE / name).exists():
            return SDIST_CACHE / name
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":all:", f"django=={django_version}", "--dest", str(SDIST_CACHE)],
        check=True,
    )  # fmt: skip
    found = sorted(SDIST_CACHE.glob(f"[Dd]jango-{django_version}.tar.gz"))
    if not found:
        raise SystemExit(f"pip downloaded no sdist of Django {django_version}")
    return found[0]


def _extract(django_version: str, folder: str, target: Path) -> None:
    """Extract one folder of the sdist to target, whole or not at all."""
    archive = download(django_version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=SUITE_CACHE) as scratch, tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/", 1)[0]
        wanted = [m for m in tar.getmembers() if m.name.startswith(f"{top}/{folder}/")]
        tar.extractall(scratch, members=wanted, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        # Moved into place whole, so a half-extracted folder is never mistaken for one.
        Path(scratch, top, folder).rename(target)


def tests_folder(django_version: str) -> Path:
    """Return the extracted tests/ folder of this Django version's sdist.

    docs/_ext comes along: the sphinx tests import Django's docs extensions.
    """
    home = SUITE_CACHE / f"django-{django_version}"
    for folder in ("tests", "docs/_ext"):
        if not (home / folder).is_dir():
            _extract(django_version, folder, home / folder)
    return home / "tests"
