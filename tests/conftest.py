"Shared fixtures: the project root, the venv's executables, and a scratch copy of the project."
import shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def tracked_files() -> list[str]:
    "Files git tracks, plus new files not ignored: what a clone of this tree would hold."
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if (ROOT/f).exists()]

def copy_project(dest: Path, only: tuple[str, ...] = ()) -> Path:
    "Copy the project's tracked files (or those under the `only` prefixes) into `dest`."
    for f in tracked_files():
        if only and not f.startswith(only): continue
        (dest/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT/f, dest/f)
    return dest

@pytest.fixture
def project_copy(tmp_path):
    "A throwaway copy of the project (tracked files only) that a test may break."
    return copy_project(tmp_path/'project')
