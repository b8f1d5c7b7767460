"""The package's layers: every module imports only from its own layer or the layers below it, top-level imports and
imports inside functions alike, and no import circle exists. Deliberate exceptions are listed by name with the reason
(as kedro's import-linter contracts list `ignore_imports`)."""
import ast
from pathlib import Path
from conftest import ROOT

# bottom first; a layer may import from the layers before it in this list
LAYERS = ['core', 'data', 'models', 'evaluate', 'tasks', 'lifecycle', 'deploy', 'monitor', 'run', 'template', 'cli']

# imports of the package's own modules placed inside functions, kept there on purpose: importer -> {imported: reason}
LAZY = {
    'modelbook.cli': {'*': "start-up time: `modelbook --help` and each command import only what the command needs"},
    **{m: {'modelbook.lifecycle.registry': "imports MLflow (about 1 s): only when a run is tracked or a registered "
                                           "model loaded",
           'modelbook.lifecycle.model_card': "imports MLflow, like the registry"}
       for m in ('modelbook.run.batch', 'modelbook.run.cards', 'modelbook.run.leaderboard', 'modelbook.deploy.service',
                 'modelbook.deploy.score', 'modelbook.monitor.backtest')},
}
# imports that go against the layers on purpose: (importer, imported) -> reason. None today.
EXCEPTIONS: dict = {}

def modules(root: Path) -> dict[str, Path]:
    "Module name -> file, for every .py file of the package under `root` (the folder holding the package)."
    out = {}
    for f in sorted((root/'modelbook').rglob('*.py')):
        if f.name == '_modidx.py' or '__pycache__' in f.parts: continue
        name = '.'.join(f.relative_to(root).with_suffix('').parts)
        out[name.removesuffix('.__init__')] = f
    return out

def layer(module: str) -> str|None:
    """The layer of a module: the subpackage (`modelbook.data.load` -> data) or the top-level module (`modelbook.cli`);
    None for the root."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None

def _target(module: str, f: Path, node: ast.ImportFrom|ast.Import, known: dict) -> list[str]:
    "The package modules an import statement refers to (the longest known module name for each name imported)."
    if isinstance(node, ast.Import): names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split('.') if f.name == '__init__.py' else module.split('.')[:-1]
            base = base[:len(base) - node.level + 1]
            mod = '.'.join(base + ([node.module] if node.module else []))
        else: mod = node.module or ''
        names = [mod] + [f"{mod}.{a.name}" for a in node.names]
    out = []
    for n in names:
        while n and n not in known: n = n.rpartition('.')[0]
        if n and n != module and n not in out: out.append(n)
    return out

def imports(root: Path) -> list[tuple[str, str, str, bool]]:
    "(importer, imported, file:line, inside a function) for every import of one package module by another."
    known, out = modules(root), []
    for module, f in known.items():
        tree = ast.parse(f.read_text(encoding='utf-8'), str(f))
        funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        inner = {id(n) for fn in funcs for n in ast.walk(fn) if n is not fn}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _target(module, f, node, known):
                    # the root: every submodule imports it anyway
                    if t == 'modelbook' and module.startswith('modelbook.'): continue
                    out.append((module, t, f"{f.relative_to(root)}:{node.lineno}", id(node) in inner))
    return out

def upward(edges) -> list[str]:
    "Imports of a layer above the importer's, each as `file:line: importer (layer) imports imported (layer above)`."
    bad = []
    for a, b, where, _ in edges:
        la, lb = layer(a), layer(b)
        if la in LAYERS and lb in LAYERS and LAYERS.index(lb) > LAYERS.index(la) and (a, b) not in EXCEPTIONS:
            bad.append(f"{where}: {a} ({la}) imports {b} ({lb}), a layer above it")
        elif la in LAYERS and lb not in LAYERS and b != 'modelbook' and (a, b) not in EXCEPTIONS:
            bad.append(f"{where}: {a} ({la}) imports {b}, which belongs to no layer")
    return bad

def circles(edges) -> list[str]:
    "Each import circle (strongly connected set of modules) with the edges that tie it, file:line."
    graph, where = {}, {}
    for a, b, w, _ in edges:
        graph.setdefault(a, set()).add(b); graph.setdefault(b, set()); where.setdefault((a, b), w)
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop(); on.discard(w); comp.add(w)
                if w == v: break
            if len(comp) > 1:
                ties = '; '.join(f"{a} -> {b} ({where[(a, b)]})" for a in sorted(comp) for b in sorted(graph[a] & comp))
                out.append(f"circle of {len(comp)} modules: {ties}")
    for v in sorted(graph):
        if v not in index: strong(v)
    return out

def lazy(edges) -> list[str]:
    "Imports of package modules inside functions that LAZY does not list."
    return [f"{w}: {a} imports {b} inside a function; import it at the top, or list it in LAZY with the reason"
            for a, b, w, inside in edges if inside and not ({'*', b} & set(LAZY.get(a, {})))]

def privates(root: Path) -> list[str]:
    "Imports of another module's `_private` names, except from the evaluation chapters' named shared core."
    known, out = modules(root), []
    for module, f in known.items():
        for node in ast.walk(ast.parse(f.read_text(encoding='utf-8'))):
            if not isinstance(node, ast.ImportFrom): continue
            targets = _target(module, f, node, known)
            names = [a.name for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]
            if names and targets and targets[0] not in (module, 'modelbook.evaluate.base'):
                out.append(f"{f.relative_to(root)}:{node.lineno}: {module} imports {', '.join(names)} "
                           f"from {targets[0]}")
    return out

EDGES = imports(ROOT)

def test_every_module_has_a_layer():
    assert {layer(m) for m in modules(ROOT)} - {None} <= set(LAYERS), ("a folder or module of the package belongs to "
                                                                       "no layer: add it to LAYERS")

def test_imports_only_go_down():
    assert not (bad := upward(EDGES)), "Upward imports:\n" + '\n'.join(bad)

def test_no_import_circles():
    assert not (bad := circles(EDGES)), "Import circles:\n" + '\n'.join(bad)

def test_imports_inside_functions_are_listed():
    assert not (bad := lazy(EDGES)), "Unlisted imports inside functions:\n" + '\n'.join(bad)

def test_no_private_names_across_modules():
    assert not (bad := privates(ROOT)), "Private names imported across modules:\n" + '\n'.join(bad)

def _package(tmp_path, files: dict) -> Path:
    for name, text in files.items():
        f = tmp_path/'modelbook'/name; f.parent.mkdir(parents=True, exist_ok=True); f.write_text(text)
    return tmp_path

def test_the_checks_see_what_they_must(tmp_path):
    """On a scratch package: an upward import inside a function, a circle inside a layer, an unlisted lazy import and a
    private name."""
    root = _package(tmp_path, {
        '__init__.py': '', 'data/__init__.py': '', 'run/__init__.py': '',
        'data/load.py': 'def f():\n    from modelbook.run.batch import go\n    return go\n',
        'run/batch.py': 'from .cards import _helper\ndef go(): return 1\n',
        'run/cards.py': 'from . import batch\ndef _helper(): return batch\n'})
    edges = imports(root)
    assert upward(edges) == ["modelbook/data/load.py:2: modelbook.data.load (data) imports modelbook.run.batch (run), "
                             "a layer above it"]
    assert circles(edges) == ["circle of 2 modules: modelbook.run.batch -> modelbook.run.cards "
                              "(modelbook/run/batch.py:1); modelbook.run.cards -> modelbook.run.batch "
                              "(modelbook/run/cards.py:1)"]
    assert lazy(edges) == ["modelbook/data/load.py:2: modelbook.data.load imports modelbook.run.batch inside a "
                           "function; import it at the top, or list it in LAZY with the reason"]
    assert privates(root) == ["modelbook/run/batch.py:1: modelbook.run.batch imports _helper from modelbook.run.cards"]

TASK_NAMES = {'binary', 'multiclass', 'count', 'regression'}

def task_comparisons(root: Path, sources: dict|None=None) -> list[str]:
    """Comparisons with a task's name (`task == 'count'`, `in ('binary', 'multiclass')`) outside modelbook/tasks/, each
    as file:line."""
    out = []
    for name, f in (sources or modules(root)).items():
        if '.tasks.' in f"{name}." or name.endswith('.tasks'): continue
        tree = ast.parse(f.read_text(encoding='utf-8') if isinstance(f, Path) else f)
        for n in ast.walk(tree):
            if not isinstance(n, ast.Compare): continue
            consts = [c for side in [n.left, *n.comparators] for c in ast.walk(side) if isinstance(c, ast.Constant)]
            if any(isinstance(c.value, str) and c.value in TASK_NAMES for c in consts):
                out.append(f"{f.relative_to(root) if isinstance(f, Path) else name}:{n.lineno}: {ast.unparse(n)[:80]}")
    return out

def test_no_task_names_compared_outside_the_task_registry():
    "A task is one registered object (modelbook.tasks): nothing else asks which task a card has."
    notebooks = {}
    for p in sorted((ROOT/'nbs'/'experiments').glob('*.ipynb')):
        import json
        code = [''.join(c['source']) for c in json.loads(p.read_text())['cells'] if c['cell_type'] == 'code']
        notebooks[f"nbs/experiments/{p.name}"] = '\n'.join(l for cell in code for l in cell.splitlines()
                                                           if not l.lstrip().startswith(('%', '!')))
    bad = task_comparisons(ROOT) + task_comparisons(ROOT, notebooks)
    assert not bad, ("Task names compared outside modelbook/tasks/ (ask the card's task object instead):\n"
                     + '\n'.join(bad))
    assert task_comparisons(ROOT, {'scratch': "if card.task == 'count': pass"}) == ["scratch:1: card.task == 'count'"]
