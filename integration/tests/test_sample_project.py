"""`manage.py test --parallel 2` of a small project, through the pooled backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from integration.engines import Engine

PROJECT = Path(__file__).resolve().parent.parent / "sampleproject"


def test_manage_py_test_parallel_2_passes(engine: Engine) -> None:
    env = {
        **os.environ,
        "DJ_DB_CONN_POOL_SAMPLE_ENGINE": engine.module,
        "DJ_DB_CONN_POOL_SAMPLE_SUFFIX": f"_{os.getpid()}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "test", "--parallel", "2", "--noinput", "-v", "2"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Ran 16 tests" in output and "\nOK" in output, output
    assert "Cloning test database" in output, output  # really in parallel
