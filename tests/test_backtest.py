"""`modelbook backtest` on a throwaway copy of the project: the bikeshare season replayed month by month under every
retraining strategy, with block-bootstrap intervals and retrain counts that follow from each strategy."""
import json
import pandas as pd, pytest
from conftest import copy_project, modelbook

# the backtest library is tested in 71_monitor.backtest; this runs the CLI and its report (make test-all)
pytestmark = pytest.mark.slow

STRATEGIES = ['card', 'static', 'monthly', 'sliding', 'drift', 'recalibrate']
MONTHS = ['April', 'May', 'June', 'July', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec']

def test_backtest_bikeshare(tmp_path):
    root = copy_project(tmp_path/'project')
    card = root/'nbs'/'experiments'/'bikeshare.yaml'   # the run must take the tolerance from the card, not a default
    card.write_text(card.read_text().replace('  tolerance: 0.25 ', '  tolerance: 0.4 '))
    bad = modelbook(root, 'backtest', 'bikeshare', '--strategies', 'static', 'weekly')
    assert bad.returncode == 1 and "unknown: ['weekly']" in bad.stderr, bad.stdout + bad.stderr
    r = modelbook(root, 'backtest', 'bikeshare', '--strategies', *STRATEGIES, '-p', 'n_boot', '100', timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, = sorted((root/'reports'/'bikeshare-backtest').iterdir())
    html = (run_dir/'report.html').read_text()
    assert 'Best strategy over the season' in html and 'block-bootstrap' in html and 'data:image/png;base64' in html
    assert ("The card's policy" in html
            and 'retrain on the last 3 labelled months after a drift or performance alert' in html)
    b = json.loads((run_dir/'backtest.json').read_text())
    assert (b['settings']['n_boot'] == 100 and b['settings']['block'] == 24 and b['settings']['train']
            == ['Jan', 'Feb', 'March'])
    # the card's monitoring section, not defaults: its policy, tolerance and lag
    assert (b['settings']['policy'] == {'action': 'retrain', 'trigger': 'either', 'window': 3}
            and b['settings']['tolerance'] == 0.4 and b['settings']['lag'] == 1)
    assert [d['policy'] for d in b['drift_policies']][:2] == ['hours independent', 'design effect']
    t = pd.DataFrame(b['months'])
    for s in STRATEGIES:
        m = t[t['strategy'] == s]
        assert m['month'].tolist() == MONTHS, (s, m['month'].tolist())
        for k in ('mae', 'deviance', 'mean_ratio'):
            assert ((m[f'{k}_low'] <= m[k]) & (m[k] <= m[f'{k}_high'])).all(), (s, k)
        assert 10 < m['mae'].min() and m['mae'].max() < 200                    # bikers per hour: tens, not thousands
        assert not m['retrained'].iloc[0]                                    # April is always served by the first model
        assert int(m['retrained'].sum()) == b['retrains'][s]
    rc = b['retrains']
    assert (rc['static'] == 0 and rc['monthly'] in (8, 9) and rc['sliding'] in (8, 9) and rc['recalibrate'] == 8 and 0
            <= rc['drift'] <= 8)
    st = t[t['strategy'] == 'static']
    assert set(st['trained_on']) == {'Jan-March'} and (st['scale'] == 1).all()
    assert set(t.loc[t['strategy'] == 'recalibrate', 'trained_on']) == {'Jan-March'}
    # a strategy that retrained serves a different model from the next month on; one that did not keeps its model
    for s in ('card', 'monthly', 'sliding', 'drift'):
        m = t[t['strategy'] == s].reset_index(drop=True)
        changed = m['trained_on'] != m['trained_on'].shift()
        assert (changed[1:] == m['retrained'][1:]).all(), s
    season = {r['strategy']: r for r in b['season']}
    assert set(season) == set(STRATEGIES) and all(v['mae_low'] <= v['mae'] <= v['mae_high'] for v in season.values())
    for s in STRATEGIES: assert f"{s}" in r.stdout and 'retrains' in r.stdout
