"""The thin lifecycle end to end, through the `modelbook` command on a throwaway copy of the project:
run -> registry -> serve over real HTTP on loopback -> monitor; and bad input that must fail cleanly."""
import json, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest, yaml
from conftest import BIN, copy_project, modelbook, env_for as _env, serving

def caravan_test_rows() -> pd.DataFrame:
    "The held-out customers of the caravan card's split, with their labels: the rows the champion was judged on."
    from modelbook.tasks.registry import load_card
    from modelbook.data.prepare import split_data
    from modelbook.data.load import read_dataset
    return split_data(read_dataset('caravan'), load_card('caravan').split, target='Purchase').test

def registered_versions(root) -> list:
    code = ("from modelbook.lifecycle.registry import client; print([str(v.version) for v in "
            "client().search_model_versions()])")
    r = subprocess.run([sys.executable, '-c', code], cwd=root, env=_env(root), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return eval(r.stdout.strip().splitlines()[-1])

def test_run_leaves_report_metrics_and_registry(trained):
    root, r = trained
    run_dir = sorted((root/'reports'/'caravan').iterdir())[0]          # the fixture's run (later tests add more)
    html = (run_dir/'report.html').read_text()
    assert html.count('data:image/png;base64') >= 4, "the report should embed its figures"
    assert 'Verdict: the' in html and '95% CI' in html
    metrics = json.loads((run_dir/'metrics.json').read_text())
    assert metrics['roc_auc_low'] < metrics['roc_auc'] < metrics['roc_auc_high']
    tracking = json.loads((run_dir/'tracking.json').read_text())
    assert tracking['version'] == '1' and tracking['champion'] == (tracking['verdict'] == 'pass')
    assert 'registered `caravan` v1' in r.stdout and str(run_dir/'report.html') in r.stdout
    card = (run_dir/'model_card.md').read_text()
    assert 'caravan' in card and 'Version history' in card and f"{metrics['lift']:.2f}"[:3] in card

def test_serve_predicts_like_the_model_in_process(trained):
    root, _ = trained
    import httpx
    with serving(root) as (url, _), httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
        # 25 records take the compiled model's numpy tree walk, 400 its per-tree routine: both must equal the pipeline
        records = pd.read_csv(root/'data'/'raw'/'caravan.csv').drop(columns='Purchase').sample(400, random_state=1)
        answers = [http.post('/predict', json={'records': part.to_dict(orient='records')})
                   for part in (records.iloc[:25], records)]
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        served = np.array([p['probability'] for r in answers for p in r.json()['predictions']])
        records = pd.concat([records.iloc[:25], records])
        code = ("import sys, json, pandas as pd; from modelbook.lifecycle.registry import load_registered; from "
                "modelbook.data.load import conform;m = load_registered('caravan'); X = "
                "conform(pd.read_json(sys.stdin), m.bundle['contract'], "
                "where='stdin');print(json.dumps(m.model.predict_proba(X)[:, 1].tolist()))")
        local = subprocess.run([sys.executable, '-c', code], input=records.to_json(orient='records'), cwd=root,
                               env=_env(root), capture_output=True, text=True)
        assert local.returncode == 0, local.stderr
        np.testing.assert_allclose(served, json.loads(local.stdout), rtol=0, atol=1e-12)
        meta = http.get('/metadata').json()
        assert meta['version'] == '1' and len(meta['data_fingerprint']) == 64
        bad = records.head(1).to_dict(orient='records'); del bad[0]['MOSTYPE']
        resp = http.post('/predict', json={'records': bad})
        assert resp.status_code == 422 and 'MOSTYPE' in json.dumps(resp.json()['detail'])
        assert http.get('/health').status_code == 200, "the service must stay up after a bad request"


# drift verdicts are tested in 70_monitor.drift;
# `modelbook monitor` itself runs at the end of the load test (make test-all)
@pytest.mark.slow
def test_monitor_flags_a_shifted_batch_and_not_an_unshifted_one(trained, tmp_path):
    root, _ = trained
    test = caravan_test_rows()
    test.to_csv(tmp_path/'same.csv', index=False)
    shifted = test.copy()
    for c in [c for c in test.columns if c.startswith('M') and c not in ('MOSTYPE', 'MOSHOOFD')][:30]:
        shifted[c] = (shifted[c] + 2).clip(upper=9)
    shifted.to_csv(tmp_path/'shifted.csv', index=False)
    same = modelbook(root, 'monitor', 'caravan', '--current', str(tmp_path/'same.csv'))
    assert same.returncode == 0, same.stdout + same.stderr
    # the held-out rows, labelled: their own lift
    assert ('no drift alert' in same.stdout and 'no performance alert: lift' in same.stdout)
    moved = modelbook(root, 'monitor', 'caravan', '--current', str(tmp_path/'shifted.csv'))
    assert moved.returncode == 3, moved.stdout + moved.stderr
    assert 'DRIFT ALERT' in moved.stdout
    reports = sorted((root/'reports'/'caravan-monitor').glob('*/report.html'))
    assert len(reports) >= 2

def test_monitor_judges_the_answers_as_served_and_alerts_when_labels_no_longer_follow_them(trained, tmp_path):
    """The champion serves its held-out customers over HTTP with the prediction log on; their labels come back keyed by
    request id and record, shuffled: same features, same buyer rate, no drift; the lift of the answers as served is
    gone: exit 4."""
    root, _ = trained
    import httpx
    test = caravan_test_rows().reset_index(drop=True)
    log_dir, keys = tmp_path/'log', []
    with (serving(root, '--log-dir', log_dir) as (url, proc),
          httpx.Client(base_url=url, trust_env=False, timeout=30) as http):
        for start in range(0, len(test), 500):
            part = test.iloc[start:start + 500]
            r = http.post('/predict', json={'records': part.drop(columns='Purchase').to_dict(orient='records')})
            assert r.status_code == 200, r.text
            keys += [(r.json()['request_id'], k) for k in range(len(part))]
    # leaving the block stopped the service, which flushed its log
    shuffled = np.random.default_rng(0).permutation(test.Purchase.to_numpy())
    labels = pd.DataFrame(keys, columns=['request_id', 'record']).assign(Purchase=shuffled)
    labels.sample(frac=1, random_state=1).to_csv(tmp_path/'labels.csv', index=False)  # labels arrive in any order
    r = modelbook(root, 'monitor', 'caravan', '--current', str(log_dir), '--labels', str(tmp_path/'labels.csv'))
    assert r.returncode == 4, r.stdout + r.stderr
    assert ('no drift alert:' in r.stdout and 'no drift alert on the target' in r.stdout
            and 'PERFORMANCE ALERT: lift' in r.stdout), r.stdout
    report = r.stdout.split('report: ')[1].split()[0]                   # this run's report; its drift.json is beside it
    drift = json.loads((Path(report).parent/'drift.json').read_text())
    perf = drift['performance']
    assert ((perf['metric'], perf['better'], perf['alert'], drift['alerts']['performance'])
            == ('lift', 'higher', True, True))
    # caravan's bar: lift 2
    assert (perf['high'] < perf['baseline'] * (1 - perf['tolerance']) and perf['estimate'] < 2.0), perf
    assert drift['labels'] == {'other_windows': 0, 'unlabelled': 0, 'labelled': len(test), 'logged': len(test),
                               'model_versions': ['1']}, drift['labels']
    assert 'Judged on the answers as served' in Path(report).read_text()

def test_unknown_parameter_is_refused_before_any_kernel_starts(trained):
    root, _ = trained
    r = modelbook(root, 'run', 'caravan', '-p', 'modle', 'glm')
    assert r.returncode == 1 and 'Unknown parameter `modle` for train.ipynb; did you mean `model`?' in r.stderr
    assert 'Valid parameters: card, model, seed, n_boot, register, out_dir' in r.stderr

@pytest.mark.slow   # make test-all
def test_plain_papermill_runs_the_training_notebook(trained, tmp_path):
    root, _ = trained
    r = subprocess.run([BIN/'papermill', 'nbs/experiments/train.ipynb', str(tmp_path/'out.ipynb'), '-k', 'modelbook',
                        '-p', 'model', 'glm', '-p', 'n_boot', '100', '-p', 'register', 'False', '-p', 'out_dir',
                        str(tmp_path/'run')],
                       cwd=root, env=_env(root), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path/'run'/'tracking.json').read_text())['version'] is None
    assert 'Verdict: the `glm` model' in (tmp_path/'out.ipynb').read_text()

def _break_caravan(root, edit):
    "Rewrite the project copy's caravan.csv with `edit` and re-record its hash, as if the datasheet were updated."
    from modelbook.core.lineage import file_sha256
    csv, sheet = root/'data'/'raw'/'caravan.csv', root/'data'/'raw'/'caravan.datasheet.yaml'
    edit(pd.read_csv(csv)).to_csv(csv, index=False)
    d = yaml.safe_load(sheet.read_text())
    d['sha256'] = file_sha256(csv)
    sheet.write_text(yaml.safe_dump(d, sort_keys=False))

@pytest.mark.parametrize('edit, expected', [
    (lambda df: df.drop(columns=['MOSTYPE']), 'missing: MOSTYPE'),
    (lambda df: df.assign(Purchase=df['Purchase'].where(df.index != 7, 'Maybe')),
     "column `Purchase` must be one of ['No', 'Yes']; rows 9 (file line numbers) hold ['Maybe']"),
], ids=['missing-column', 'third-class'])
def test_bad_data_fails_cleanly(tmp_path, edit, expected):
    root = copy_project(tmp_path/'project')
    _break_caravan(root, edit)
    r = modelbook(root, 'run', 'caravan', '-p', 'model', 'glm')
    assert r.returncode == 1 and expected in r.stderr, r.stderr
    runs = list((root/'reports'/'caravan').iterdir())
    assert len(runs) == 1 and runs[0].name.endswith('-FAILED')
    assert not (runs[0]/'report.html').exists() and not (runs[0]/'tracking.json').exists()
    assert expected.split(';')[0] in (runs[0]/'train.ipynb').read_text(), "the failed notebook keeps the error"
    assert not (root/'mlflow.db').exists() or registered_versions(root) == []

# the gate, promote and rollback are tested in 51_lifecycle.registry;
# this is the CLI on a second version (make test-all)
@pytest.mark.slow
def test_promote_refuses_a_version_that_fails_the_gate(trained):
    root, _ = trained
    code = ("import json; from modelbook.lifecycle.train import train_candidate; from modelbook.lifecycle.registry "
            "import log_candidate; t = log_candidate(train_candidate('caravan', 'glm', n_boot=100).candidate()); "
            "print(json.dumps([t.version, t.champion]))")
    r = subprocess.run([sys.executable, '-c', code], cwd=root, env=_env(root), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    v, champion = json.loads(r.stdout.strip().splitlines()[-1])
    if champion: pytest.skip("the glm candidate beat the champion significantly on this split")
    r = modelbook(root, 'promote', 'caravan', v)
    assert r.returncode == 1 and f"Model `caravan` v{v} was not promoted" in r.stderr and 'failed' in r.stderr, r.stderr
    r = modelbook(root, 'rollback', 'caravan')
    assert r.returncode == 1 and 'has no `previous` version to roll back to' in r.stderr
    r = modelbook(root, 'promote', 'caravan', '1')          # the champion itself passes its own gate
    assert r.returncode == 0 and 'is now champion' in r.stdout, r.stderr

def test_score_cli_matches_the_service_model(trained, tmp_path):
    root, _ = trained
    src = tmp_path/'batch.csv'
    pd.read_csv(root/'data'/'raw'/'caravan.csv').drop(columns='Purchase').head(3000).to_csv(src, index=False)
    r = modelbook(root, 'score', 'caravan', str(src), str(tmp_path/'scored.parquet'), '--chunk-rows', '700')
    assert r.returncode == 0, r.stderr
    out = pd.read_parquet(tmp_path/'scored.parquet')
    assert len(out) == 3000 and out['row'].tolist() == list(range(3000)) and (out['model_version'] == '1').all()
    code = ("import sys, json, pandas as pd; from modelbook.lifecycle.registry import load_registered; from "
            "modelbook.data.load import conform;m = load_registered('caravan'); X = "
            f"conform(pd.read_csv({str(src)!r}), m.bundle['contract'], "
            "where='x');print(json.dumps(m.model.predict_proba(X)[:, 1].tolist()))")
    local = subprocess.run([sys.executable, '-c', code], cwd=root, env=_env(root), capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    np.testing.assert_allclose(out['probability'].to_numpy(), json.loads(local.stdout), rtol=0, atol=1e-12)
