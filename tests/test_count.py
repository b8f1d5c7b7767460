"""A count card end to end: `modelbook run bikeshare` on a throwaway copy of the project trains a Poisson model,
reports deviance and MAE with block-bootstrap intervals, and logs and registers it in the copy's own MLflow store."""
import json
import pytest
from conftest import copy_project, modelbook

@pytest.mark.slow   # train_candidate on a count card is tested in 06_experiments and 04e; this is the CLI and its report (make test-all)
def test_run_bikeshare_reports_deviance_and_mae_with_cis(tmp_path):
    root = copy_project(tmp_path/'project')
    r = modelbook(root, 'run', 'bikeshare', '-p', 'model', 'hgb', '-p', 'n_boot', '200')
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, = sorted((root/'reports'/'bikeshare').iterdir())
    m = json.loads((run_dir/'metrics.json').read_text())
    assert (m['block'], m['n_boot'], m['unit']) == (24, 200, 'bikers per hour')
    for k in ('poisson_deviance', 'mae', 'rmse', 'deviance_explained', 'mean_ratio'):
        assert m[f'{k}_low'] < m[k] < m[f'{k}_high'], (k, m)
    # sane for hourly rentals averaging about 120 in December: errors of tens of bikes, most of the deviance explained
    assert 0 < m['poisson_deviance_low'] and m['poisson_deviance_high'] < 100
    assert 10 < m['mae_low'] and m['mae_high'] < 100 and m['mae'] < m['rmse']
    assert 0.3 < m['deviance_explained'] < 1 and 0.5 < m['mean_ratio'] < 1.5
    html = (run_dir/'report.html').read_text()
    assert 'Verdict: the' in html and 'Mean Poisson deviance' in html and 'Mean absolute error (bikers per hour)' in html
    assert '95% CI' in html and 'block bootstrap' in html and html.count('data:image/png;base64') >= 3
    tracking = json.loads((run_dir/'tracking.json').read_text())
    assert tracking['version'] == '1' and 'predicted / observed total' in tracking['reason']
    # the registered model's bundle, read from the copy's artefact store (no second process importing MLflow)
    serving, = [json.loads(f.read_text()) for f in (root/'mlruns').rglob('modelbook/serving.json')]
    holdout, = [json.loads(f.read_text()) for f in (root/'mlruns').rglob('modelbook/holdout.json')]
    assert serving['task'] == 'count' and 'threshold' not in serving and len(holdout['p']) == len(holdout['y']) == m['n']
