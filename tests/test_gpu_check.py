"""tools/gpu_check.sh, the GPU session's one script, at least parses and starts without a GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "gpu_check.sh"


def test_gpu_check_script_parses_and_its_python_parts_start() -> None:
    assert os.access(SCRIPT, os.X_OK)
    syntax = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    dry = subprocess.run(
        [str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert dry.returncode == 0, dry.stderr
    assert "dry run ok" in dry.stdout
    wrong = subprocess.run([str(SCRIPT), "--bogus"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 2 and "unknown option --bogus" in wrong.stderr
