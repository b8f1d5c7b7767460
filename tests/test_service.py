"""The prediction service as a team would run it: started by the CLI, over real HTTP on loopback, with a bearer
token and the prediction log; a bounded load test from 20 concurrent clients."""
import json, os, signal, time
from concurrent.futures import ThreadPoolExecutor
import httpx, pandas as pd, pytest
from conftest import env_for, serving, modelbook

@pytest.fixture
def service(trained, tmp_path):
    "`modelbook serve` on a free loopback port with a token and a prediction log in tmp_path."
    root, _ = trained
    log_dir = tmp_path/'log'
    with serving(root, '--log-dir', log_dir, env={**env_for(root), 'MODELBOOK_API_TOKEN': 'test-token'}) as (url, proc):
        yield url, log_dir, proc

@pytest.fixture(scope='module')
def records(trained):
    root, _ = trained
    return pd.read_csv(root/'data'/'raw'/'caravan.csv').drop(columns='Purchase').head(200).to_dict(orient='records')

def test_token_is_required(service, records):
    url, _, _ = service
    with httpx.Client(base_url=url, trust_env=False) as http:
        assert http.post('/predict', json={'records': records[:1]}).status_code == 401
        assert http.get('/metadata').status_code == 401
        assert http.get('/health').status_code == 200 and http.get('/ready').status_code == 200

def test_load_20_clients_10000_requests(service, records, trained):
    "Bounded load on loopback: zero errors, a prediction log of exactly 10,000 rows with unique request ids, which the monitor then reads."
    url, log_dir, proc = service
    auth = {'Authorization': 'Bearer test-token'}
    def client(k):
        statuses, ids = [], []
        with httpx.Client(base_url=url, trust_env=False, headers=auth, timeout=30) as http:
            for i in range(500):
                r = http.post('/predict', json={'records': [records[(k * 500 + i) % len(records)]]})
                statuses.append(r.status_code); ids.append(r.json().get('request_id'))
        return statuses, ids
    t0 = time.perf_counter()
    with ThreadPoolExecutor(20) as pool: results = list(pool.map(client, range(20)))
    seconds = time.perf_counter() - t0
    statuses = [s for st, _ in results for s in st]; ids = [i for _, ii in results for i in ii]
    assert len(statuses) == 10_000 and set(statuses) == {200}, f"errors: {pd.Series(statuses).value_counts().to_dict()}"
    with httpx.Client(base_url=url, trust_env=False) as http: metrics = http.get('/metrics').text
    assert 'modelbook_predicted_records_total 10000.0' in metrics
    os.killpg(proc.pid, signal.SIGTERM); proc.wait(timeout=30)          # graceful stop flushes the log
    from modelbook.serve import read_prediction_log
    log = read_prediction_log(log_dir)
    assert len(log) == 10_000 and log['request_id'].is_unique and set(log['request_id']) == set(ids)
    assert (log['model_version'] == '1').all() and log['probability'].between(0, 1).all()
    print(f"10,000 requests from 20 clients in {seconds:.1f} s ({10_000 / seconds:,.0f} requests/s)")
    # the monitor reads the service's own log folder (feature columns only) and writes its drift report
    root, _ = trained
    before = set((root/'reports'/'caravan-monitor').glob('*')) if (root/'reports'/'caravan-monitor').exists() else set()
    r = modelbook(root, 'monitor', 'caravan', '--current', str(log_dir))
    assert r.returncode in (0, 3), r.stdout + r.stderr
    run_dir, = set((root/'reports'/'caravan-monitor').glob('*')) - before
    assert (run_dir/'report.html').exists() and json.loads((run_dir/'drift.json').read_text())['rows'] == 10_000
