"The package is what the notebooks export, the notebooks are clean, and experiment notebooks keep their parameters tag."
import ast, builtins, filecmp, json, subprocess
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
    assert not diff, ("modelbook/ does not match what the notebooks export; edit the notebooks, not the package, then "
                      f"run `make export`. Files that differ: {', '.join('modelbook/' + d for d in diff)}")

def test_notebooks_are_clean(tmp_path):
    "nbdev_clean changes nothing: no execution counts or stray metadata in committed notebooks."
    copy = copy_project(tmp_path, only=('nbs/', 'settings.ini'))
    for args in ([], ['--fname', 'nbs/experiments'], ['--fname', 'nbs/guides']):
        subprocess.run([BIN/'nbdev_clean', *args], cwd=copy, check=True, capture_output=True)
    diff = _differences(ROOT/'nbs', copy/'nbs', '**/*.ipynb')
    assert not diff, f"Notebooks not clean (run `make export`): {', '.join('nbs/' + d for d in diff)}"

@pytest.mark.parametrize('notebook', sorted(p.name for p in (ROOT/'nbs'/'experiments').glob('*.ipynb')))
def test_experiment_has_one_parameters_cell(notebook):
    nb = json.loads((ROOT/'nbs'/'experiments'/notebook).read_text())
    tagged = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, (f"nbs/experiments/{notebook} has {len(tagged)} cells tagged `parameters`; papermill "
                              "needs exactly one")
    assert nb['metadata']['kernelspec']['name'] == 'modelbook', (f"nbs/experiments/{notebook} must run on the "
                                                                 "project's `modelbook` kernel")

def test_ruff_on_package():
    r = subprocess.run([BIN/'ruff', 'check', '--select', 'F', 'modelbook'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

def test_environment_is_consistent():
    r = subprocess.run([BIN/'python', '-m', 'pip', 'check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

# A cell that mixes imports with other code breaks the docs step: nbdev's `exec_show_docs` runs every cell that holds
# an import (and every exported cell) in a fresh kernel, skipping the plain cells before it, so the other code of an
# import cell meets names those skipped cells define (STYLE.md, rule 5). Allowed beside imports, because they use only
# what the same cell imports and take literal arguments: the last cell's `nbdev.nbdev_export()` (the docs step skips
# that cell) and the kernel set-up calls below.
SETUP_CALLS = {'nbdev.nbdev_export', 'warnings.filterwarnings', 'warnings.simplefilter', 'matplotlib.use'}
NOTEBOOKS = sorted(p.relative_to(ROOT/'nbs').as_posix()
                   for p in [*(ROOT/'nbs').glob('*.ipynb'), *(ROOT/'nbs'/'experiments').glob('*.ipynb')])

def _dotted(node) -> str:
    return f"{_dotted(node.value)}.{node.attr}" if isinstance(node, ast.Attribute) else node.id if isinstance(node,
                                                                                                       ast.Name) else ''

def _setup_call(node, imported: set) -> bool:
    """A bare call of an allowed set-up function of a module this cell imports, with literal arguments (or built-in
    names, e.g. UserWarning) only."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)): return False
    call, name = node.value, _dotted(node.value.func)
    return (name in SETUP_CALLS and name.split('.')[0] in imported
            and all(isinstance(a, ast.Constant) or isinstance(a, ast.Name) and hasattr(builtins, a.id)
                    for a in [*call.args, *(k.value for k in call.keywords)]))

def mixed_import_cells(nb: dict) -> list[tuple[int, str, list[str]]]:
    "(index, first line, other statements) of each code cell with a top-level import beside other top-level code."
    out = []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        # IPython magics aside
        body = ast.parse('\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines())).body
        # imports for type hints only
        type_only = lambda n: (isinstance(n, ast.If) and isinstance(n.test, ast.Name) and n.test.id == 'TYPE_CHECKING'
                               and all(isinstance(b, (ast.Import, ast.ImportFrom)) for b in n.body))
        imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom)) or type_only(n)]
        imported = {(a.asname or a.name).split('.')[0] for n in imports
                    for a in (n.names if hasattr(n, 'names') else [x for b in n.body for x in b.names])}
        docstring = lambda n: isinstance(n, ast.Expr) and isinstance(n.value,
                                                                     ast.Constant) and isinstance(n.value.value, str)
        other = [n for n in body if n not in imports and not docstring(n) and not _setup_call(n, imported)]
        if imports and other:
            first = next((l for l in src.splitlines() if l.strip() and not l.startswith('#|')), '')
            out.append((i, first, [ast.unparse(n).splitlines()[0][:60] for n in other[:3]]))
    return out

def test_mixed_import_cells_are_found():
    """The check sees imports beside code, and allows imports alone, directives, comments, docstrings and the set-up
    calls."""
    cell = lambda src: {'cell_type': 'code', 'source': src}
    nb = {'cells': [cell('#| export\nimport os\n# a comment\n\nfrom pathlib import Path'),
                    cell('import nbdev; nbdev.nbdev_export()'),
                    cell('import warnings\nwarnings.filterwarnings("ignore", category=UserWarning)'),
                    cell('"A docstring."\nimport os'),
                    {'cell_type': 'markdown', 'source': 'import os\nx = 1'}, cell('x = 1\nimport os'),
                    cell('#| hide\nimport numpy as np\nwarnings.simplefilter("ignore")'),
                    cell('import warnings\nwarnings.filterwarnings("ignore", category=w)'),
                    cell('%time import os\nimport json\ny = json.dumps(1)')]}
    test = mixed_import_cells(nb)
    assert [(i, first) for i, first, _ in test] == [(5, 'x = 1'), (6, 'import numpy as np'), (7, 'import warnings'),
                                                    (8, '%time import os')], test

@pytest.mark.parametrize('notebook', NOTEBOOKS)
def test_imports_in_cells_of_their_own(notebook):
    "No code cell mixes a top-level import with other top-level code (the docs step would run that code out of order)."
    bad = mixed_import_cells(json.loads((ROOT/'nbs'/notebook).read_text()))
    assert not bad, (f"nbs/{notebook}: move the imports of these cells into a cell of their own (imports only), before "
                     "the code: "
                     + '; '.join(f"cell {i} (`{first}`) also holds {' | '.join(other)}" for i, first, other in bad))
