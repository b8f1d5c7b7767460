"""`modelbook reproduce RUN_ID` end to end on the shared trained project and on edited copies of it: its tracked
caravan run reproduces exactly; after an edit to the raw data, or to the package's code, it says which one changed and
exits 1."""
import json, re, shutil, sqlite3, subprocess, sys
import pandas as pd, pytest
from conftest import env_for

# reproduce is tested in-process in 83_run.reproduce; this runs the CLI on the shared project and edited copies
# (make test-all)
pytestmark = pytest.mark.slow

def _env(root, store=None) -> dict:
    env = {**env_for(root), 'OMP_NUM_THREADS': '1'}
    return {**env, 'MLFLOW_TRACKING_URI': f"sqlite:///{store}"} if store else env

def here(root, *args, store=None):
    "Run the `modelbook` command with the package *of this copy*: the console script would import the installed one."
    cmd = ['-c', 'import sys; from modelbook.cli import main; sys.exit(main())', *args]
    return subprocess.run([sys.executable, *cmd], cwd=root, env=_env(root, store), capture_output=True, text=True,
                          timeout=300)

@pytest.fixture(scope='module')
def tracked(trained):
    "The shared trained project's tracked hgb run (`modelbook run`, registered): its root, store and run id."
    root, _ = trained
    run_dir = sorted((root/'reports'/'caravan').iterdir())[0]          # the fixture's run (other tests add more)
    return root, root/'mlflow.db', json.loads((run_dir/'tracking.json').read_text())['run_id']

def clone(tracked, dest):
    "A copy of the tracked project's files (not its store) that a test may edit; runs against the original store."
    root, store, run_id = tracked
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns('mlflow.db*', 'mlruns', 'reports', 'predictions',
                                                              '__pycache__'))   # other tests write those
    return dest, store, run_id

def test_reproduce_names_what_changed(tracked, tmp_path):
    """One tracked run (the shared project's: each re-run costs a training): unchanged, then code edited, then data
    edited."""
    root, store, run_id = tracked
    # 1. unchanged: identical, and the outcome is recorded on the run
    r = here(root, 'reproduce', run_id, '--tag')
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert r.stdout.startswith(f"Run {run_id} reproduced: identical within 1e-09 ("), r.stdout
    n_test = len(pd.read_csv(root/'data'/'raw'/'caravan.csv')) - 4366
    assert f"{n_test:,} test predictions identical" in r.stdout and 'data, code and environment unchanged' in r.stdout
    n_metrics = sqlite3.connect(store).execute("select count(distinct key) from metrics where run_uuid = ?",
                                               (run_id,)).fetchone()[0]
    assert f"{n_metrics} metrics identical" in r.stdout
    tag = sqlite3.connect(store).execute("select value from tags where run_uuid = ? and key = 'modelbook.reproduced'",
                                         (run_id,)).fetchone()
    assert tag and tag[0].startswith('yes at ')
    # 2. a code change is named, with the metrics and predictions it moved
    croot, store, run_id = clone(tracked, tmp_path/'code-changed')
    models = croot/'modelbook'/'models'/'estimators.py'
    models.write_text(models.read_text().replace('HGB_DEFAULTS = dict(learning_rate=0.05,',
                                                 'HGB_DEFAULTS = dict(learning_rate=0.06,'))
    r = here(croot, 'reproduce', run_id, store=store)
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    assert r.stdout.startswith(f"Run {run_id} NOT reproduced: code changed "
                               "(modelbook/models/estimators.py changed)"), r.stdout
    assert (re.search(r'  - metrics: \d+ of \d+ metrics differ: ', r.stdout)
            and re.search(r'  - predictions: [\d,]+ of [\d,]+ test predictions differ', r.stdout))
    assert '  - data:' not in r.stdout
    # 3. a data change: named (re-training is refused while the datasheet disagrees; the row-level comparison is tested
    # in 06c)
    droot, store, run_id = clone(tracked, tmp_path/'data-changed')
    raw = droot/'data'/'raw'
    _edit_one_value(raw/'caravan.csv', row=0)                  # row 0 is in the test part of the card's split
    r = here(droot, 'reproduce', run_id, store=store)          # the datasheet still records the old sha256
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    assert r.stdout.startswith(f"Run {run_id} NOT reproduced: data changed "
                               "(caravan.csv sha256 e89d49b6fb8f... -> "), r.stdout
    assert 'retrain: re-training was refused' in r.stdout and 'its datasheet records' in r.stdout
    # 4. an unknown run
    r = here(root, 'reproduce', 'no-such-run')
    assert r.returncode == 1 and 'No run `no-such-run` in the tracking store' in r.stderr, r.stderr[-2000:]

def _edit_one_value(csv, row: int) -> str:
    "Give `row` the next row's value in the first column where they differ (so it stays valid); return the column."
    df = pd.read_csv(csv)
    col = next(c for c in df.columns[1:-1] if df.at[row, c] != df.at[row + 1, c])
    df.at[row, col] = df.at[row + 1, col]
    df.to_csv(csv, index=False)
    return col
