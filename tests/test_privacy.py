"""A planted personal-data column never appears in clear in reports, the tracking store or the prediction log.
The project copy's Caravan data gains an e-mail column (policy: drop) and a phone column (policy: hash with a
salt from the environment, and excluded from the features); the whole lifecycle runs; then every file is searched."""
import subprocess
from pathlib import Path
from typing import NamedTuple
import httpx, pandas as pd, pytest, yaml
from conftest import BIN, copy_project, env_for, serving

class Planted(NamedTuple):
    "The project copy with planted personal data: its root, the CLI's environment and the planted values."
    root: Path
    env: dict
    emails: list
    phones: list

@pytest.fixture(scope='module')
def planted(tmp_path_factory):
    from modelbook.core.lineage import file_sha256
    root = copy_project(tmp_path_factory.mktemp('pii')/'project')
    csv = root/'data'/'raw'/'caravan.csv'
    df = pd.read_csv(csv)
    emails = [f"anna.jansen{i}@example-mail.nl" for i in range(len(df))]
    phones = [f"+31 6 {10000000 + 7919 * i:08d}" for i in range(len(df))]
    df.insert(0, 'email', emails); df.insert(1, 'phone', phones); df.to_csv(csv, index=False)
    sheet_p = root/'data'/'raw'/'caravan.datasheet.yaml'; sheet = yaml.safe_load(sheet_p.read_text())
    sheet['columns'] = {'email': {'dtype': 'str', 'meaning': 'e-mail address'},
                        'phone': {'dtype': 'str', 'meaning': 'phone number'}, **sheet['columns']}
    sheet['sha256'] = file_sha256(csv); sheet_p.write_text(yaml.safe_dump(sheet, sort_keys=False))
    con_p = root/'data'/'contracts'/'caravan.yaml'; con = yaml.safe_load(con_p.read_text())
    con['columns'] = {'email': {'dtype': 'str', 'nullable': False, 'unique': True},
                      'phone': {'dtype': 'str', 'nullable': False, 'unique': True}, **con['columns']}
    con_p.write_text(yaml.safe_dump(con, sort_keys=False))
    card_p = root/'nbs'/'experiments'/'caravan.yaml'; card = yaml.safe_load(card_p.read_text())
    card['privacy'] = {'email': {'action': 'drop'}, 'phone': {'action': 'hash'}}
    card['data']['exclude'] = ['phone']
    card_p.write_text(yaml.safe_dump(card, sort_keys=False))
    env = {**env_for(root), 'MODELBOOK_PII_SALT': 'a-test-salt-of-enough-length'}
    return Planted(root, env, emails, phones)

def _cmd(root, env, *args):
    return subprocess.run([BIN/'modelbook', *args], cwd=root, env=env, capture_output=True, text=True, timeout=600)

def test_without_a_policy_the_run_stops(planted, tmp_path):
    root, env, emails, _ = planted
    card_p = root/'nbs'/'experiments'/'caravan.yaml'; card = yaml.safe_load(card_p.read_text())
    bad = tmp_path/'caravan.yaml'; card['privacy'] = {'phone': {'action': 'hash'}}; bad.write_text(yaml.safe_dump(card))
    r = _cmd(root, env, 'run', str(bad), '-p', 'model', 'glm')
    assert r.returncode == 1 and 'column `email` looks like e-mail addresses' in r.stderr
    assert not any(e in r.stderr + r.stdout for e in emails[:50])

def test_planted_pii_never_reaches_reports_tracking_or_prediction_log(planted):
    from modelbook.data.privacy import assert_no_pii
    root, env, emails, phones = planted
    for args in (['data', 'report', 'caravan'], ['run', 'caravan', '-p', 'model', 'glm', '-p', 'n_boot', '100']):
        r = _cmd(root, env, *args)
        assert r.returncode == 0, r.stdout + r.stderr
    with serving(root, env=env) as (url, _), httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
        rows = pd.read_csv(root/'data'/'raw'
                          /'caravan.csv').drop(columns=['email', 'phone', 'Purchase']).head(5).to_dict(orient='records')
        assert http.post('/predict', json={'records': rows}).status_code == 200
        extra = {**rows[0], 'email': emails[0]}
        assert http.post('/predict', json={'records': [extra]}).status_code == 422  # not a feature: refused, not logged
    searched = [root/'reports', root/'mlflow.db', root/'mlruns', root/'data'/'predictions']
    assert all(p.exists() for p in searched)
    n = assert_no_pii(searched, emails[::97] + phones[::97])
    assert n > 20, f"only {n} files searched"
