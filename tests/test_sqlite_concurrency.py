"""Parallel runs never fail on 'database is locked': three processes open a *new* SQLite store at the same time and
each logs runs into it. Without modelbook's preparation this fails (concurrent schema migrations); with it, every run
lands."""
import subprocess, sys, textwrap
import pytest
from conftest import ROOT, env_for

pytestmark = pytest.mark.slow   # several processes importing MLflow at once (make test-all)

WORKER = textwrap.dedent('''
    import sys, mlflow
    from modelbook.lifecycle.registry import client, experiment_id
    c = client(); exp = experiment_id('stress')
    for r in range(int(sys.argv[2])):
        with mlflow.start_run(experiment_id=exp, run_name=f"w{sys.argv[1]}-{r}"):
            mlflow.log_params({f"p{k}": k for k in range(10)})
            for s in range(5): mlflow.log_metrics({f"m{k}": k * s for k in range(10)}, step=s)
            mlflow.set_tags({f"t{k}": str(k) for k in range(10)})
''')

def test_parallel_writers_on_a_new_sqlite_store(tmp_path, n=3, runs=1):
    db = tmp_path/'mlflow.db'
    env = {**env_for(ROOT), 'MLFLOW_TRACKING_URI': f"sqlite:///{db}", 'OMP_NUM_THREADS': '1'}
    procs = [subprocess.Popen([sys.executable, '-c', WORKER, str(i), str(runs)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    outs = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    failed = [err[-800:] for rc, err in outs if rc != 0]
    assert not failed, f"{len(failed)} of {n} writers failed:\n" + '\n---\n'.join(failed)
    import sqlite3
    con = sqlite3.connect(db)
    assert con.execute('select count(*) from runs').fetchone()[0] == n * runs
    assert con.execute('pragma journal_mode').fetchone()[0] == 'wal'
