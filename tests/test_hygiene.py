"The package is what the notebooks export, the notebooks are clean, and experiment notebooks keep their parameters tag."
import filecmp, json, subprocess
from pathlib import Path
import pytest
from conftest import ROOT, BIN, copy_project

def _differences(a: Path, b: Path, pattern: str) -> list[str]:
    "Files matching `pattern` that differ between folders a and b, or exist in only one."
    fa = {p.relative_to(a) for p in a.glob(pattern)}; fb = {p.relative_to(b) for p in b.glob(pattern)}
    return sorted(str(f) for f in fa ^ fb) + sorted(str(f) for f in fa & fb if not filecmp.cmp(a/f, b/f, shallow=False))

def test_package_matches_notebooks(tmp_path):
    "nbdev_export on a copy of the notebooks reproduces modelbook/ exactly; a hand edit is named."
    copy = copy_project(tmp_path, only=('nbs/', 'settings.ini'))
    subprocess.run([BIN/'nbdev_export'], cwd=copy, check=True, capture_output=True)
    diff = _differences(ROOT/'modelbook', copy/'modelbook', '*.py')
    assert not diff, ("modelbook/ does not match what the notebooks export; edit the notebooks, not the package, then run "
                      f"`make export`. Files that differ: {', '.join('modelbook/' + d for d in diff)}")

def test_notebooks_are_clean(tmp_path):
    "nbdev_clean changes nothing: no execution counts or stray metadata in committed notebooks."
    copy = copy_project(tmp_path, only=('nbs/', 'settings.ini'))
    for args in ([], ['--fname', 'nbs/experiments']):
        subprocess.run([BIN/'nbdev_clean', *args], cwd=copy, check=True, capture_output=True)
    diff = _differences(ROOT/'nbs', copy/'nbs', '**/*.ipynb')
    assert not diff, f"Notebooks not clean (run `make export`): {', '.join('nbs/' + d for d in diff)}"

@pytest.mark.parametrize('notebook', sorted(p.name for p in (ROOT/'nbs'/'experiments').glob('*.ipynb')))
def test_experiment_has_one_parameters_cell(notebook):
    nb = json.loads((ROOT/'nbs'/'experiments'/notebook).read_text())
    tagged = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, f"nbs/experiments/{notebook} has {len(tagged)} cells tagged `parameters`; papermill needs exactly one"
    assert nb['metadata']['kernelspec']['name'] == 'modelbook', f"nbs/experiments/{notebook} must run on the project's `modelbook` kernel"

def test_ruff_on_package():
    r = subprocess.run([BIN/'ruff', 'check', '--select', 'F', 'modelbook'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

def test_environment_is_consistent():
    r = subprocess.run([BIN/'python', '-m', 'pip', 'check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
