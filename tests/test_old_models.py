"""Models registered by modelbook 0.1, before the package became layered, load through the registry and are served.

tests/fixtures/registered-0.1/ holds what 0.1 registered for the three bundled cards (the artefact files, their
registration tags with the sha256 manifest) and 60 held-out rows with the predictions 0.1 made for them. Here they
are registered again byte for byte in a fresh MLflow store, as they sit in an existing project's registry, and the
current code loads them (hashes verified, skops with the package's trusted types) and serves one over HTTP."""
import json, subprocess, sys
import pandas as pd, pytest
from conftest import ROOT, env_for, serving

FIXTURES = ROOT/'tests'/'fixtures'/'registered-0.1'
CARDS = ('caravan', 'bikeshare', 'weather')

REGISTER = """
import json, shutil, sys, tempfile
from pathlib import Path
import mlflow
from mlflow import MlflowClient
fixtures, uri = Path(sys.argv[1]), sys.argv[2]
c = MlflowClient(uri, registry_uri=uri); mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
for name in sys.argv[3:]:
    store = Path(uri.removeprefix('sqlite:///')).parent
    exp = c.create_experiment(name, artifact_location=(store/'mlruns'/name).as_uri())
    run = c.create_run(exp)
    model = c.create_logged_model(exp, name='model', source_run_id=run.info.run_id)
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(fixtures/name, Path(d)/'a', ignore=shutil.ignore_patterns('registered.json', 'rows.parquet'))
        c.log_model_artifacts(model.model_id, str(Path(d)/'a'))
    c.finalize_logged_model(model.model_id, 'READY')
    c.set_terminated(run.info.run_id)
    recorded = json.loads((fixtures/name/'registered.json').read_text())['tags']
    tags = {k: v for k, v in recorded.items() if not k.startswith('promot')}
    c.create_registered_model(name)
    mv = c.create_model_version(name, model.artifact_location, run_id=run.info.run_id,
                                tags={**tags, 'run_id': run.info.run_id}, model_id=model.model_id)
    c.set_registered_model_alias(name, 'champion', mv.version)
"""

LOAD = """
import json, sys, warnings
import numpy as np, pandas as pd
from modelbook.lifecycle.registry import load_registered
from modelbook.deploy.service import served_from_registry
out = {}
for name in sys.argv[2:]:
    reg = load_registered(name)
    rows = pd.read_parquet(f"{sys.argv[1]}/{name}/rows.parquet")
    X, expected = rows.drop(columns=[c for c in rows if c.startswith('pred_')]), rows.filter(like='pred_').to_numpy()
    got = np.asarray(reg.model.predict(X) if name == 'bikeshare' else reg.model.predict_proba(X)).reshape(len(X), -1)
    served = served_from_registry(reg)
    est = type(reg.model[-1])
    out[name] = {'model': est.__module__ + '.' + est.__name__, 'same': bool(np.array_equal(got, expected)),
                 'compiled': served.compiled is not None}
print(json.dumps(out))
"""

@pytest.fixture(scope='module')
def old_registry(tmp_path_factory):
    "A tracking store holding the three 0.1 registrations, each the champion of its card."
    d = tmp_path_factory.mktemp('registry-0.1')
    uri = f"sqlite:///{d/'mlflow.db'}"
    r = subprocess.run([sys.executable, '-c', REGISTER, str(FIXTURES), uri, *CARDS], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return {**env_for(ROOT), 'MLFLOW_TRACKING_URI': uri}

def test_old_registrations_load_and_predict_as_before(old_registry):
    r = subprocess.run([sys.executable, '-W', 'ignore::DeprecationWarning', '-c', LOAD, str(FIXTURES), *CARDS],
                       cwd=ROOT, env=old_registry, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {'caravan': {'model': 'modelbook.models.estimators.GLMClassifier', 'same': True, 'compiled': True},
                   'bikeshare': {'model': 'modelbook.models.estimators.GLMRegressor', 'same': True, 'compiled': True},
                   'weather': {'model': 'modelbook.models.estimators.MNLogitClassifier', 'same': True,
                               'compiled': True}}, got

@pytest.mark.slow   # the notebook and the test above load and score them in-process; this adds the HTTP service
def test_an_old_champion_is_served(old_registry):
    import httpx
    rows = pd.read_parquet(FIXTURES/'caravan'/'rows.parquet')
    X = rows.drop(columns=[c for c in rows if c.startswith('pred_')])
    with serving(ROOT, env=old_registry) as (url, _):
        r = httpx.post(f"{url}/predict", json={'records': X.head(20).to_dict(orient='records')}, trust_env=False,
                       timeout=30)
        meta = httpx.get(f"{url}/metadata", trust_env=False).json()
    assert r.status_code == 200, r.text
    p = [x['probability'] for x in r.json()['predictions']]
    assert max(abs(a - b) for a, b in zip(p, rows['pred_1'].head(20))) < 1e-9  # the compiled model, as 0.1 scored it
    assert meta['version'] == '1' and meta['name'] == 'caravan', meta
