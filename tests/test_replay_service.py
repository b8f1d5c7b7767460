"""The bikeshare season replayed through the service (#8): the January-March model is registered and served with the
prediction log on; April to December are posted over HTTP month by month by concurrent clients; `modelbook monitor`
reads each month's window of that log, with the month's labels once they "arrive". The logged predictions equal the
in-process backtest's static-model predictions, and each month's exit code is the backtest's verdict on that month:
4 where the static model raised a performance alert, 3 where only drift did, 0 otherwise."""
import json, subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
import numpy as np, pandas as pd, pytest
from conftest import BIN, copy_project, env_for, modelbook, serving

pytestmark = pytest.mark.slow   # ~2 minutes: a registration, a server and nine monitoring reports (make test-all)

CHUNK, CLIENTS = 48, 8


def _now() -> str: return datetime.now(timezone.utc).isoformat()


def test_season_through_the_service(tmp_path):
    import httpx
    from modelbook.monitor.backtest import backtest, _season_frame
    root = copy_project(tmp_path/'project')
  # registered like any model; the promotion gate may refuse it as champion (its March calibration is off by about 12%),
    # so the replay deploys it under its own alias, as the scenario does: train on January-March, then serve
    register = ("from modelbook.monitor.backtest import first_model_candidate; from modelbook.lifecycle.registry "
                "import log_candidate, client; r = log_candidate(first_model_candidate('bikeshare')); "
                "client().set_registered_model_alias('bikeshare', 'season', r.version); print(r.version, r.reason)")
    r = subprocess.run([BIN/'python', '-c', register], cwd=root, env=env_for(root), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 and r.stdout.startswith('1 '), r.stdout + r.stderr

    bt = backtest('bikeshare', strategies=['static'])  # in process, the card's settings
    card, df, cols, names = _season_frame('bikeshare')
    features, months = cols['numeric'] + cols['categorical'], list(bt.table['period'])
    static = bt.table.set_index('period')
    mu = {m: g['mu'].to_numpy() for m, g in bt.predictions.groupby('period')}

    log_dir, sent, windows = tmp_path/'log', {}, {}
    with serving(root, '--log-dir', log_dir, '--alias', 'season', model='bikeshare') as (url, _):
        def post(job):
            m, start, records = job
            with httpx.Client(base_url=url, trust_env=False, timeout=60) as http:
                res = http.post('/predict', json={'records': records})
            assert res.status_code == 200, res.text
            return res.json()['request_id'], (m, start)
        with ThreadPoolExecutor(CLIENTS) as pool:
            for m in months:  # one month after the other, as time passes
                rows = json.loads(df.loc[df['_month'] == m, features].to_json(orient='records'))
                since = _now()
                sent.update(pool.map(post, [(m, i, rows[i:i + CHUNK]) for i in range(0, len(rows), CHUNK)]))
                windows[m] = (since, _now())
    # leaving the block stopped the service, which flushed its log

    from modelbook.data.predlog import read_prediction_log
    log = read_prediction_log(log_dir)
    assert len(log) == sum(len(v) for v in mu.values()) and log['request_id'].nunique() == len(sent)
    where = [sent[q] for q in log['request_id']]
    expected = np.array([mu[m][start + k] for (m, start), k in zip(where, log['record'])])
    # the service answered what the backtest predicted
    np.testing.assert_allclose(log['expected_count'].to_numpy(), expected, rtol=1e-9)

    codes = {}
    for i, m in enumerate(months):
        labelled = tmp_path/f'labels-{m}.csv'  # the month's labels, a month later
        if i % 2 == 0:   # every other month they come back keyed by the answer they judge: request id and record
            wl = log[[sent[q][0] == m for q in log['request_id']]]
            ym = df.loc[df['_month'] == m, card.data.target].to_numpy()
            pd.DataFrame({'request_id': wl['request_id'], 'record': wl['record'],
                          card.data.target: [ym[sent[q][1] + k] for q,
                                             k in zip(wl['request_id'], wl['record'])]}).to_csv(labelled, index=False)
        else: df.loc[df['_month'] == m, [*features, card.data.target]].to_csv(labelled, index=False)
        since, until = windows[m]
        res = modelbook(root, 'monitor', 'bikeshare', '--alias', 'season', '--current', str(log_dir), '--since', since,
                        '--until', until,
                       '--labels', str(labelled))
        assert res.returncode in (0, 3, 4), res.stdout + res.stderr
        d = json.loads(next(f for f in sorted((root/'reports'/'bikeshare-monitor').glob('*/drift.json'))[::-1]
                            if json.loads(f.read_text())['since'] == since).read_text())
        assert d['rows'] == len(mu[m]) and 'expected_count' in json.dumps(d['predictions'])
        assert d['verdict'] == bool(static.loc[m, 'drift']), (m, d['sentence'])  # the same drift verdict as in process
        # served answers = in-process predictions
        assert d['performance']['estimate'] == pytest.approx(static.loc[m, 'mae'], rel=1e-9)
        assert ('labels' in d) == (i % 2 == 0) and (i % 2 or d['labels']['labelled'] == len(mu[m])), d.get('labels')
        assert d['alerts']['target'] is not None and 'card policy:' in res.stdout
        codes[names[m]] = res.returncode
        assert res.returncode == (4 if static.loc[m, 'alert'] else 3 if static.loc[m, 'drift'] else 0), (names[m],
                                                                                                         res.stdout)
    print(codes)
    assert sum(c == 4 for c in codes.values()) >= 6  # the static model's error rose most of the year

    # a card that compares each month with the previous one (monitoring.reference: previous): December against November
    card_file = root/'nbs'/'experiments'/'bikeshare.yaml'
    card_file.write_text(card_file.read_text().replace('  reference: training ', '  reference: previous '))
    nov, dec = months[-2], months[-1]
    refused = modelbook(root, 'monitor', 'bikeshare', '--alias', 'season', '--current', str(log_dir), '--since',
                        windows[dec][0])
    assert (refused.returncode == 1 and 'monitoring.reference: previous' in refused.stderr
            + refused.stdout), refused.stdout + refused.stderr
    res = modelbook(root, 'monitor', 'bikeshare', '--alias', 'season', '--current', str(log_dir), '--since',
                    windows[dec][0], '--until', windows[dec][1], '--previous', str(tmp_path/f'labels-{nov}.csv'))
    assert res.returncode in (0, 3), res.stdout + res.stderr  # no labels given: no performance alert
    d = json.loads(max((root/'reports'/'bikeshare-monitor').glob('*/drift.json'),
                       key=lambda f: f.stat().st_mtime).read_text())
    assert (d['reference'] == 'previous' and {c['n_ref'] for c in d['columns']} == {len(mu[nov])} and d['rows']
            == len(mu[dec]))
