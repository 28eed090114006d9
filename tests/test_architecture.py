"""The one-way dependency rule of docs/ARCHITECTURE.md, as import-linter contracts (.importlinter):
a change that breaks it fails here, naming the import."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is not installed (it is in the dev extras: pip install -e '.[dev]')"
    proc = subprocess.run([lint, str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
