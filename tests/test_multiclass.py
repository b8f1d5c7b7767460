"""A multiclass card end to end: `modelbook run weather` on a throwaway copy of the project trains the multinomial
logit, reports its metrics with intervals, registers it as champion; `modelbook serve` answers over real HTTP on
loopback with a probability per class and the predicted class (through the compiled model, from records and from columns
alike), equal to `modelbook score` on the same rows; the prediction log holds the
same outputs, and `modelbook monitor` on the log reports feature and prediction drift."""
import json, os, signal
import httpx, numpy as np, pandas as pd, pytest
from conftest import modelbook, run_card, serving

CLASSES = ['clear', 'cloudy/misty', 'light rain/snow']

# about 75 s CPU, 3 min wall: the pieces are tested in-process in 36, 51, 61_deploy.service (real uvicorn), 62 and 70
# (make test-all)
@pytest.mark.slow
def test_weather_card_run_register_serve_score_monitor(tmp_path):
    root, run_dir, m = run_card(tmp_path/'project', 'weather', model='glm', n_boot=200)
    assert (m['classes'], m['n_boot']) == (CLASSES, 200) and sum(m['counts']) == m['n']
    for k in ('roc_auc_ovr', 'log_loss', 'accuracy', 'macro_f1', 'recall_light_rain_snow'):
        assert m[f'{k}_low'] <= m[k] <= m[f'{k}_high'], (k, m)
    # some skill, near or above the majority rate
    assert (0.5 < m['roc_auc_ovr_low'] and m['accuracy'] > max(m['counts']) / m['n'] - 0.05)
    # whole held-out days resampled (a quarter of 2011's days)
    assert (m['group'] == 'day' and 20 <= m['n_groups'] <= 366 // 4 + 1)
    html = (run_dir/'report.html').read_text()
    assert ('Verdict: the' in html and 'ROC AUC (macro one-vs-rest)' in html and 'Which classes it confuses' in html
            and 'classwise ECE' in html)
    # the report says which bootstrap it used
    assert f"resamples of whole groups of `day` ({m['n_groups']} groups" in html
    assert html.count('data:image/png;base64') >= 2  # the confusion matrix and the reliability diagrams
    tracking = json.loads((run_dir/'tracking.json').read_text())
    assert tracking['version'] == '1' and tracking['champion'] and 'no champion yet' in tracking['reason']

    bikes = pd.read_csv(root/'data'/'raw'/'bikeshare.csv')
    features = ['holiday', 'temp', 'atemp', 'hum', 'windspeed', 'mnth', 'hr', 'weekday']
    rows = bikes[features].iloc[::97].reset_index(drop=True)            # 90 hours spread over the year
    rows.to_csv(batch := tmp_path/'batch.csv', index=False)
    r = modelbook(root, 'score', 'weather', str(batch), str(tmp_path/'scored.parquet'))
    assert r.returncode == 0, r.stdout + r.stderr
    scored = pd.read_parquet(tmp_path/'scored.parquet')
    assert list(scored.columns[:6]) == ['row', 'predicted_class', 'probability', *[f'probability_{c}' for c in CLASSES]]

    log_dir = tmp_path/'log'
    with serving(root, '--log-dir', log_dir, model='weather') as (url, proc):
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
            out = http.post('/predict', json={'records': rows.to_dict('records')}).json()
            doc = http.get('/openapi.json').json()
            bad = http.post('/predict', json={'records': [{**rows.iloc[0].to_dict(), 'mnth': 'Smarch'}]})
            order = doc['components']['schemas']['PredictColumnsRequest']['properties']['columns']['const']
            # the columnar body, the same answers
            by_columns = http.post('/predict', json=rows[order].to_dict('split', index=False)).json()
        os.killpg(proc.pid, signal.SIGTERM); proc.wait(timeout=30)       # graceful stop flushes the log
    P = np.array([[p['probabilities'][c] for c in CLASSES] for p in out['predictions']])
    np.testing.assert_allclose(P.sum(1), 1, atol=1e-9)
    # HTTP = batch scoring
    np.testing.assert_allclose(P, scored[[f'probability_{c}' for c in CLASSES]].to_numpy(), atol=1e-9)
    assert [p['predicted_class'] for p in out['predictions']] == scored['predicted_class'].tolist()
    assert by_columns['predictions'] == out['predictions']
    assert doc['components']['schemas']['Prediction']['properties']['predicted_class']['enum'] == CLASSES
    assert bad.status_code == 422 and bad.json()['detail'][0]['loc'] == ['body', 'records', 0, 'mnth']

    from modelbook.data.predlog import read_prediction_log
    log = read_prediction_log(log_dir)
    # both bodies logged alike
    assert (len(log) == 2 * len(rows) and set(log['request_id']) == {out['request_id'], by_columns['request_id']})
    for rid in (out['request_id'], by_columns['request_id']):
        assert log.loc[log['request_id'] == rid, 'predicted_class'].tolist() == scored['predicted_class'].tolist()
    r = modelbook(root, 'monitor', 'weather', '--current', str(log_dir))
    assert r.returncode in (0, 3), r.stdout + r.stderr  # 3: drift alert (90 hours spread over a year vs. a test set)
    drift = json.loads(next((root/'reports'/'weather-monitor').glob('*/drift.json')).read_text())
    assert drift['rows'] == 2 * len(rows) and 'predicted_class' in json.dumps(drift['predictions'])
