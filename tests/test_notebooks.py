"Every library notebook is a test file: run each with nbdev_test, one pytest item per notebook."
import subprocess
import pytest
from conftest import ROOT, BIN

NOTEBOOKS = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb'))

def test_there_are_chapters():
    assert {'index.ipynb', '01_core.config.ipynb', '10_data.load.ipynb'} <= set(NOTEBOOKS)

@pytest.mark.parametrize('notebook', NOTEBOOKS)
def test_notebook(notebook):
    r = subprocess.run([BIN/'nbdev_test', '--path', f'nbs/{notebook}', '--do_print'], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, f"nbs/{notebook} failed under nbdev_test:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
