"""A model kind registered from outside the package goes through the whole lifecycle with no edit to modelbook.

A copy of the project gets a module of its own, `shop_kinds.py`, that registers a spline logistic regression; its
settings.ini lists the module under `plugins`, and the Caravan card names the kind in `models:`. Then, as a user
would: `modelbook run` trains it in a papermill kernel (which imports the plugin because the card names a kind it
does not know), the promotion gate judges it and the registry keeps it; `modelbook serve` loads it (its skops types
trusted) and answers with it; `modelbook monitor` checks a batch against its reference profile."""
import json
import httpx, yaml
from conftest import copy_project, modelbook, serving
from test_lifecycle import caravan_test_rows

PLUGIN = '''"A model kind of this project's own: a spline logistic regression, registered when the module is imported."
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer
from modelbook.models.kinds import ModelKind, register_model_kind

register_model_kind(ModelKind(
    'splines', 'logistic regression on cubic splines of each numeric feature',
    {'binary': lambda categorical, seed: make_pipeline(SplineTransformer(n_knots=4, degree=3),
                                                       LogisticRegression(C=0.5, max_iter=2000))},
    features='linear',
    # what its skops file holds
    trusted_types=('scipy.interpolate._bsplines.BSpline', 'scipy._lib.array_api_compat.numpy._aliases.asarray')))
'''

def test_a_kind_of_the_projects_own_is_trained_gated_served_and_monitored(tmp_path):
    root = copy_project(tmp_path/'project')
    (root/'shop_kinds.py').write_text(PLUGIN)
    ini = root/'settings.ini'; ini.write_text(ini.read_text().rstrip('\n') + '\nplugins = shop_kinds\n')
    path = root/'nbs'/'experiments'/'caravan.yaml'; card = yaml.safe_load(path.read_text())
    card['models'] = ['splines', 'glm']
    # this test is about the kind going through, not about its lift
    card['success'].update(minimum=1.2, ci_lower_min=1.0)
    path.write_text(yaml.safe_dump(card, sort_keys=False))

    run = modelbook(root, 'run', 'caravan', '-p', 'model', 'splines', '-p', 'n_boot', '100')
    assert run.returncode == 0, run.stdout + run.stderr
    assert ('registered `caravan` v1; champion: criterion: ok' in run.stdout
            and 'beats champion: ok, no champion yet' in run.stdout), run.stdout
    report = next((root/'reports'/'caravan').glob('*/tracking.json'))
    assert json.loads(report.read_text())['champion'] is True

    test = caravan_test_rows()
    with serving(root) as (url, _):
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
            records = test.drop(columns='Purchase').head(25).to_dict(orient='records')
            r = http.post('/predict', json={'records': records})
            meta = http.get('/metadata').json()
    assert r.status_code == 200, r.text
    answers = r.json()['predictions']
    assert (len(answers) == 25
            and all(0 <= a['probability'] <= 1 and isinstance(a[card['decision']['action']], bool)
                    for a in answers)), answers[:2]
    assert (meta['name'], meta['version']) == ('caravan', '1'), meta

    test.to_csv(tmp_path/'batch.csv', index=False)
    mon = modelbook(root, 'monitor', 'caravan', '--current', str(tmp_path/'batch.csv'))
    assert mon.returncode == 0, mon.stdout + mon.stderr
    assert 'no drift alert' in mon.stdout and 'performance alert: lift' in mon.stdout, mon.stdout
