"""The prediction service as a team would run it: started by the CLI, over real HTTP on loopback, with a bearer
token and the prediction log; both request bodies (records and columns); a bounded load test from 20 concurrent
clients."""
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

AUTH = {'Authorization': 'Bearer test-token'}

@pytest.fixture(scope='module')
def records(trained):
    root, _ = trained
    return pd.read_csv(root/'data'/'raw'/'caravan.csv').drop(columns='Purchase').head(200).to_dict(orient='records')

def test_token_and_columnar_body(service, records):
    "One server for both: 401 without the token, whichever body; the columnar body's answers and 422s (below)."
    url, _, _ = service
    with httpx.Client(base_url=url, trust_env=False) as http:
        assert http.post('/predict', json={'records': records[:1]}).status_code == 401
        assert http.post('/predict', json=pd.DataFrame(records[:1]).to_dict('split', index=False)).status_code == 401
        assert http.get('/metadata').status_code == 401
        assert http.get('/health').status_code == 200 and http.get('/ready').status_code == 200
    # the columnar body, built in the order the OpenAPI page gives: the same predictions as records; each bad body a 422
    # naming column and row
    with httpx.Client(base_url=url, trust_env=False, headers=AUTH, timeout=30) as http:
        schemas = http.get('/openapi.json').json()['components']['schemas']
        order = schemas['PredictColumnsRequest']['properties']['columns']['const']
        frame = pd.DataFrame(records)[order]
        def body(df=frame, **kw): return {**df.to_dict('split', index=False), **kw}
        # the compiled model's numpy walk (20 rows) and scikit-learn's per-tree routine (200)
        for part in (frame.iloc[:20], frame):
            by_records = http.post('/predict', json={'records': part.to_dict('records')})
            by_columns = http.post('/predict', json=body(part))
            assert by_records.status_code == by_columns.status_code == 200, by_columns.text
            assert by_columns.json()['predictions'] == by_records.json()['predictions']
        def refused(b, status=422):
            r = http.post('/predict', json=b)
            assert r.status_code == status, r.text
            return r.json()['detail']
        rows = frame.to_numpy().tolist()
        def cell(i, col, v): return body(data=[[v if (k, c) == (i, col) else x for c, x in zip(order, row)] for k,
                                               row in enumerate(rows)])
        e, = refused(body(frame.drop(columns='MOSTYPE')))
        assert (e['type'], e['loc'], e['msg']) == ('missing', ['body', 'columns'],
                                                   'Field required: column `MOSTYPE` is not in `columns`')
        e, = refused(body(frame.assign(MOSTYPO=1)))
        assert (e['type'], e['loc'], e['input']) == ('extra_forbidden', ['body', 'columns', len(order)], 'MOSTYPO')
        e, = refused(cell(7, 'MOSHOOFD', '3'))
        assert (e['type'], e['loc'], e['input'], e['ctx']['rows']) == ('int_type', ['body', 'data', 7, 'MOSHOOFD'], '3',
                                                                       [7])
        e, = refused(cell(3, 'MOSTYPE', 99))
        assert (e['type'], e['loc'], e['msg'], e['input']) == ('less_than_equal', ['body', 'data', 3, 'MOSTYPE'],
                                                               'Input should be less than or equal to 41', 99)
        # customer main type: a nominal code in 1..10, so 0 is a level the contract does not know
        e, = refused(cell(11, 'MOSHOOFD', 0))
        assert (e['type'], e['loc'], e['ctx']['column']) == ('greater_than_equal', ['body', 'data', 11, 'MOSHOOFD'],
                                                             'MOSHOOFD')
        e, = refused(body(data=[r[:-1] if i == 5 else r for i, r in enumerate(rows)]))
        assert (e['type'], e['loc'], e['msg']) == ('too_short', ['body', 'data', 5],
                                                   f'Row 5 holds {len(order) - 1} values; `columns` names {len(order)}')
        e, = refused(body(frame[order[::-1]]))
        assert e['loc'] == ['body', 'columns', 0] and f"the model's order has `{order[0]}` there" in e['msg']
        detail = refused(body(pd.concat([frame] * 6)), status=413)
        assert detail == ('A request may hold at most 1000 records; this one holds 1200. Split it into batches of at '
                          'most 1000 records.')
        assert http.post('/predict', json=body(frame.iloc[:1])).status_code == 200, ("the service must stay up after "
                                                                                     "bad requests")

def test_load_20_clients_10000_requests(service, records, trained):
    """Bounded load on loopback: zero errors, a prediction log of exactly 10,000 rows with unique request ids, which the
    monitor then reads."""
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
    from modelbook.data.predlog import read_prediction_log
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
