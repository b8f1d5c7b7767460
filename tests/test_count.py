"""A count card end to end: `modelbook run bikeshare` on a throwaway copy of the project trains a Poisson model,
reports deviance and MAE with block-bootstrap intervals, and logs and registers it in the copy's own MLflow store."""
import json, subprocess
import httpx, numpy as np, pandas as pd, pytest
from conftest import BIN, env_for, modelbook, run_card, serving as cli_service

# train_candidate on a count card is tested in 52_lifecycle.train and 35_evaluate.count;
# this is the CLI and its report (make test-all)
@pytest.mark.slow
def test_run_bikeshare_reports_deviance_and_mae_with_cis(tmp_path):
    root, run_dir, m = run_card(tmp_path/'project', 'bikeshare', model='hgb', n_boot=200)
    assert (m['block'], m['n_boot'], m['unit']) == (24, 200, 'bikers per hour')
    for k in ('poisson_deviance', 'mae', 'rmse', 'deviance_explained', 'mean_ratio'):
        assert m[f'{k}_low'] < m[k] < m[f'{k}_high'], (k, m)
    # sane for hourly rentals averaging about 120 in December: errors of tens of bikes, most of the deviance explained
    assert 0 < m['poisson_deviance_low'] and m['poisson_deviance_high'] < 100
    assert 10 < m['mae_low'] and m['mae_high'] < 100 and m['mae'] < m['rmse']
    assert 0.3 < m['deviance_explained'] < 1 and 0.5 < m['mean_ratio'] < 1.5
    html = (run_dir/'report.html').read_text()
    assert ('Verdict: the' in html and 'Mean Poisson deviance' in html
            and 'Mean absolute error (bikers per hour)' in html)
    assert '95% CI' in html and 'block bootstrap' in html and html.count('data:image/png;base64') >= 3
    tracking = json.loads((run_dir/'tracking.json').read_text())
    assert tracking['version'] == '1' and 'predicted / observed total' in tracking['reason']
    # the registered model's bundle, read from the copy's artefact store (no second process importing MLflow)
    serving, = [json.loads(f.read_text()) for f in (root/'mlruns').rglob('modelbook/serving.json')]
    holdout, = [json.loads(f.read_text()) for f in (root/'mlruns').rglob('modelbook/holdout.json')]
    assert (serving['task'] == 'count' and 'threshold' not in serving and len(holdout['p']) == len(holdout['y'])
            == m['n'])

    # served over real HTTP on loopback: one expected count per record, equal to `modelbook score` on the same rows.
    # The version is not champion (its predicted / observed total misses the card's calibration limit), so both use an
    # alias set here.
    subprocess.run([BIN/'python', '-c',
        "from modelbook.lifecycle.registry import client; client().set_registered_model_alias('bikeshare', "
        "'candidate', '1')"],
                   cwd=root, env=env_for(root), check=True)
    rows = pd.read_csv(root/'data'/'raw'/'bikeshare.csv')[serving_features(root)].iloc[::101].reset_index(drop=True)
    rows.to_csv(batch := tmp_path/'batch.csv', index=False)
    r = modelbook(root, 'score', 'bikeshare', str(batch), str(tmp_path/'scored.parquet'), '--alias', 'candidate')
    assert r.returncode == 0, r.stdout + r.stderr
    scored = pd.read_parquet(tmp_path/'scored.parquet')
    assert list(scored.columns) == ['row', 'expected_count', 'model_name', 'model_version']
    with cli_service(root, "--alias", "candidate", model="bikeshare") as (url, _), httpx.Client(base_url=url,
                                                                                   trust_env=False, timeout=30) as http:
        out = http.post('/predict', json={'records': rows.to_dict('records')}).json()['predictions']
        schema = http.get('/openapi.json').json()['components']['schemas']['Prediction']
    np.testing.assert_allclose([p['expected_count'] for p in out], scored['expected_count'], rtol=1e-9)
    assert list(schema['properties']) == ['expected_count'] and all(p['expected_count'] > 0 for p in out)

def serving_features(root) -> list[str]:
    "The registered count model's feature columns, from its serving bundle in the copy's artefact store."
    serving_json, = (root/'mlruns').rglob('modelbook/serving.json')
    return json.loads(serving_json.read_text())['features']
