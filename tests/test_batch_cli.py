"""`modelbook batch` end to end, as a team uses it: 8 parameter sets on 2 worker processes, one of them failing; the
same batch again skips the 7 completed runs and re-runs the failed one; after a function the notebook imports is
edited in its library notebook and exported with nbdev, every run runs again. The CLI, its pool workers and the
notebook kernels all import the package of a project copy (PYTHONPATH), so the edit reaches the kernels."""
import json, subprocess, sys
import nbformat, yaml
from conftest import BIN, copy_project, env_for

EXPERIMENT = [
    ("x = 1\nfail = False", ['parameters']),
    ("import numpy as np\nfrom pathlib import Path\nimport modelbook\nfrom modelbook.data.privacy import redact", []),
    ("if fail: raise ValueError(f'asked to fail at x={x}')\n"
     "phone = f'+31 6 {x:04d} {int(np.random.default_rng(x).integers(10_000)):04d}'\n"
     "Path('out.txt').write_text(f'x={x} redacted={redact(phone, \"phone\")}')\n"
     "Path('package.txt').write_text(modelbook.__file__)", []),
]

def batch(root, spec):
    """Run `modelbook batch SPEC --workers 2` with the copy's package (the console script would import the installed
    one)."""
    env = {**env_for(root), 'PYTHONPATH': str(root), 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-c', 'import sys; from modelbook.cli import main; sys.exit(main())', 'batch', str(spec),
           '--workers', '2']
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)

def runs(root, r) -> list[dict]:
    "The runs of the batch a CLI call reported (its batch.json, found from the summary's first line)."
    batch_id = r.stdout.split('Batch ', 1)[1].split(' ', 1)[0]
    return json.loads((root/'reports'/'batches'/batch_id/'batch.json').read_text())['runs']

def edit_redact(root):
    "Rewrite redact's last line in nbs/12_data.privacy.ipynb (same result, new code) and export, as a developer would."
    path = root/'nbs'/'12_data.privacy.ipynb'
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == 'code' and 'def redact(' in c.source)
    old = "    return _REDACT.get(kind, _mask_shape)(str(value).strip())"
    assert old in cell.source, cell.source
    cell.source = cell.source.replace(old,
                                      "    text = str(value).strip()\n    return _REDACT.get(kind, _mask_shape)(text)")
    nbformat.write(nb, path)
    r = subprocess.run([BIN/'nbdev_export'], cwd=root, env=env_for(root), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'return _REDACT.get(kind, _mask_shape)(text)' in (root/'modelbook'/'data'/'privacy.py').read_text()

def test_batch_of_8_isolates_a_failure_skips_completed_runs_and_reruns_after_a_code_edit(tmp_path):
    root = copy_project(tmp_path/'project', only=('modelbook/', 'nbs/', 'data/raw/', 'settings.ini'))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={'tags': tags}) for src, tags in EXPERIMENT]
    nb.metadata['kernelspec'] = {'name': 'modelbook', 'display_name': 'Python (modelbook)', 'language': 'python'}
    nbformat.write(nb, root/'nbs'/'experiments'/'redact_demo.ipynb')
    spec = root/'nbs'/'experiments'/'redact_demo.batch.yaml'
    spec.write_text(yaml.safe_dump({'notebook': 'redact_demo.ipynb', 'grid': {'x': list(range(1, 8))},
                                    'runs': [{'x': 8, 'fail': True}]}))

    # 1. 8 runs on 2 workers: the failing set is isolated, kept with its error, and counted in the exit code
    r1 = batch(root, spec)
    assert r1.returncode == 1, r1.stdout + r1.stderr[-3000:]
    assert '8 runs, 7 completed, 0 skipped (done before), 1 failed' in r1.stdout, r1.stdout
    assert '8/8 done (1 failed)' in r1.stdout                                  # the progress line's last state
    assert 'without encryption' not in r1.stderr  # kernels on IPC sockets: no TCP port, no ipykernel warning
    first = runs(root, r1)
    done = {json.dumps(x['params'], sort_keys=True): x for x in first if x['status'] == 'completed'}
    assert len(done) == 7
    outs = {k: open(x['folder'] + '/out.txt').read() for k, x in done.items()}
    # each run got its own parameters
    assert all(v.startswith(f"x={json.loads(k)['x']} redacted=+** * **** **") for k, v in outs.items()), outs
    failed = next(x for x in first if x['status'] == 'failed')
    assert failed['params'] == {'x': 8, 'fail': True} and 'asked to fail at x=8' in failed['error'], failed
    assert (failed['folder'].endswith('-FAILED')
            and 'asked to fail at x=8' in open(failed['folder'] + '/redact_demo.ipynb').read())

    # 2. the same batch again: the 7 completed runs are skipped (their earlier folders), the failed one runs again
    r2 = batch(root, spec)
    assert r2.returncode == 1, r2.stdout + r2.stderr[-3000:]
    assert '8 runs, 0 completed, 7 skipped (done before), 1 failed' in r2.stdout, r2.stdout
    second = runs(root, r2)
    assert sorted(x['folder'] for x in second if x['skipped']) == sorted(x['folder'] for x in done.values())

    # 3. redact edited in its library notebook and exported: every run's key changes, so all 8 run again
    edit_redact(root)
    r3 = batch(root, spec)
    assert r3.returncode == 1, r3.stdout + r3.stderr[-3000:]
    assert '8 runs, 7 completed, 0 skipped (done before), 1 failed' in r3.stdout, r3.stdout
    third = runs(root, r3)
    assert not {x['key'] for x in third} & {x['key'] for x in first}
    redone = {json.dumps(x['params'], sort_keys=True): x for x in third if x['status'] == 'completed'}
    # same results from the rewritten function
    assert {k: open(x['folder'] + '/out.txt').read() for k, x in redone.items()} == outs
    # by the copy's package
    assert {open(x['folder'] + '/package.txt').read() for x in redone.values()} == {str(root/'modelbook'/'__init__.py')}
