"""Run an import in a child interpreter where some modules cannot be imported."""

from __future__ import annotations

import subprocess
import sys


def import_error(module: str, *blocked: str) -> str:
    """Return what importing `module` prints when the `blocked` modules are absent."""
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from django.conf import settings\n"
        "settings.configure()\n"
        f"import {module}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0, "the import worked although its driver was blocked"
    return result.stderr
