"""Tuning from the card, end to end on a project copy: the card's grid and L1 selection run on the training rows only,
their outcome is recorded on the candidate, and cards that ask for tuning where it cannot run are refused."""
import json, subprocess, sys
import pytest, yaml
from conftest import copy_project, env_for
from modelbook.models.estimators import HGB_DEFAULTS

TUNING = {'folds': 2, 'repeats': 1, 'grids': {'hgb': {'learning_rate': [0.05, 0.1]}}, 'select': {'glm': 0.05}}

CODE = """
import json
from modelbook.lifecycle.train import train_candidate
out = {}
for kind in ('glm', 'hgb'):
    r = train_candidate('caravan', kind, n_boot=100)
    c = r.candidate()
    out[kind] = {'steps': list(r.model.named_steps), 'params': c.params, 'test_auc': r.evaluation.to_dict()['roc_auc'],
                 'selection': None if r.selection is None else {
                     'helps': r.selection.helps, 'folds': len(r.selection.scores), 'summary': r.selection.summary(),
                     'n_freq': int(len(r.selection.frequency))},
                 'tuning': None if r.tuning is None else {
                     'rows': len(r.tuning.table), 'chosen': r.tuning.chosen, 'best': r.tuning.best,
                     'folds': len(r.tuning.scores), 'summary': r.tuning.summary()}}
print(json.dumps(out))
"""

def _card(root, **tuning):
    path = root/'nbs'/'experiments'/'caravan.yaml'
    card = yaml.safe_load(path.read_text())
    card['tuning'] = tuning
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path

# tune and assess_selection are tested in 50_lifecycle.tuning; this trains a tuned card end to end (make test-all)
@pytest.mark.slow
def test_tuning_from_the_card(tmp_path):
    root = copy_project(tmp_path/'project')
    _card(root, **TUNING)
    r = subprocess.run([sys.executable, '-c', CODE], cwd=root, env={**env_for(root), 'OMP_NUM_THREADS': '1'},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    glm, hgb = out['glm'], out['hgb']
    assert glm['tuning'] is None and glm['selection']['folds'] == 2 and glm['selection']['n_freq'] > 80
    assert ('select' in glm['steps']) == glm['selection']['helps'], glm  # the selector is used only when it helps
    assert glm['params']['l1_selection'] == ('kept' if glm['selection']['helps'] else 'dropped')
    # defaults + 2 grid points
    assert (hgb['selection'] is None and hgb['tuning']['rows'] == 3 and hgb['tuning']['folds'] == 2)
    assert (json.loads(hgb['params']['tuned_params']) == hgb['tuning']['chosen']
            and hgb['tuning']['chosen'] in ({}, hgb['tuning']['best']))
    assert 0.5 < hgb['test_auc'] < 1 and 0.5 < glm['test_auc'] < 1

@pytest.mark.parametrize('edit, expected', [
    (lambda c: c.update(tuning={'grids': {'xgb': {'a': [1]}}}),
     "`tuning` names model kinds xgb that are not in `models`"),
    (lambda c: c.update(tuning={'folds': 1}), "tuning.folds"),
    (lambda c: c.update(tuning={'grids': {'hgb': {'learning_rate': [0.1]}}, 'nfolds': 3}),
     "unknown key `tuning.nfolds`"),
])
def test_bad_tuning_sections_are_refused(tmp_path, edit, expected):
    root = copy_project(tmp_path/'project', only=('nbs/experiments/', 'settings.ini', 'data/'))
    path = root/'nbs'/'experiments'/'caravan.yaml'
    card = yaml.safe_load(path.read_text()); edit(card); path.write_text(yaml.safe_dump(card, sort_keys=False))
    code = "from modelbook.tasks.registry import load_card; load_card('caravan')"
    r = subprocess.run([sys.executable, '-c', code], cwd=root, env=env_for(root), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and expected in r.stderr, r.stderr[-1500:]

CODE_TASKS = """
import json, sys
from modelbook.lifecycle.train import train_candidate
r = train_candidate(sys.argv[1], 'hgb', n_boot=100)
c = r.candidate()
print(json.dumps({'cv': r.tuning.scores.attrs['cv'], 'folds': len(r.tuning.scores),
                  'metric': r.tuning.scores.attrs['metric'], 'better': r.tuning.better,
                  'chosen': r.tuning.chosen, 'best': r.tuning.best, 'tuned_params': c.params['tuned_params'],
                  'model_params': r.model['model'].get_params(), 'summary': r.tuning.summary()}, default=str))
"""

# tune_card is tested on both cards in 50_lifecycle.tuning; this trains them end to end from their cards (make test-all)
@pytest.mark.slow
@pytest.mark.parametrize('card, cv, folds, metric, better',
                         [('bikeshare', 'TimeSeriesSplit', 3, 'mean_absolute_error', 'lower'),
                                                              ('weather', 'RepeatedGroupKFold', 6, 'roc_auc_ovr',
                                                               'higher')])
def test_count_and_multiclass_cards_tune_on_their_own_folds(tmp_path, card, cv, folds, metric, better):
    root = copy_project(tmp_path/'project', only=('nbs/experiments/', 'settings.ini', 'data/'))
    r = subprocess.run([sys.executable, '-c', CODE_TASKS, card], cwd=root,
                       env={**env_for(root), 'OMP_NUM_THREADS': '1'}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert (out['cv'], out['folds'], out['metric'], out['better']) == (cv, folds, metric, better), out
    assert json.loads(out['tuned_params']) == out['chosen'] and out['chosen'] in ({}, out['best']), out
    grid = yaml.safe_load((root/'nbs'/'experiments'/f'{card}.yaml').read_text())['tuning']['grids']['hgb']
    for k, values in grid.items():  # the fitted model uses the chosen point, or the defaults
        assert out['model_params'][k] == out['chosen'].get(k, HGB_DEFAULTS[k]), out
        if out['chosen']: assert out['chosen'][k] in values
