"""Run import-linter (pyproject.toml's contracts) over the whole dj_db_conn_pool namespace.

Its import graph needs a top-level package in one folder, while each engine
wheel ships its own portion of the namespace: copy every package's src/ into
one temporary tree and check that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory() as tree:
        for src in sorted(ROOT.glob("packages/*/src")):
            shutil.copytree(src, tree, dirs_exist_ok=True)
        env = {**os.environ, "PYTHONPATH": tree}
        command = ["lint-imports", "--no-cache", "--no-logo"]
        return subprocess.call(command, env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
