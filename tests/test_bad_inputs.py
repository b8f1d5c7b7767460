"""The bad-input corpus (tests/bad_inputs/, made by make_corpus.py): each file gets its specific error from
`modelbook data check`, naming the column, rows or file, with exit code 1 and nothing written."""
import pytest
from conftest import ROOT, copy_project, modelbook

CORPUS = ROOT/'tests'/'bad_inputs'
CASES = {
    'wrong_dtype.csv': "`MOSTYPE` must be int64, not str: 1 row (index 4) holds 'thirty'",
    'out_of_range.csv': "`MOSTYPE` must be in 1..41: 2 rows (index 17, 42) hold 0, 99",
    'unknown_level.csv': "`Purchase` must be one of No, Yes: 1 row (index 7) holds 'Maybe'",
    'missing_column.csv': "`MOSHOOFD` is missing",
    'empty.csv': "empty.csv is empty (0 bytes)",
    'header_only.csv': "the frame has 0 rows; the contract requires at least 1",
    'wrong_delimiter.csv': "the file looks ';'-delimited",
    'non_utf8.csv': "is not valid UTF-8: byte b'\\xf6' at byte 1,200 (line 4)",
    'duplicated_header.csv': "the header repeats column name `MOSTYPE`",
    'nan_and_inf.csv': "`PPERSAUT` must not be missing: 1 row (index 5) holds NaN",
    'target_leak.csv': "Target leakage suspected in 1 of 85 features",
    'pii_column.csv': "column `contact` looks like e-mail addresses (100% of sampled values)",
}

@pytest.fixture(scope='module')
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp('bad')/'project')

def test_corpus_is_complete():
    assert {p.name for p in CORPUS.glob('*.csv')} == set(CASES) | {'ok.csv'}

def test_clean_file_passes(project):
    r = modelbook(project, 'data', 'check', str(CORPUS/'ok.csv'), '--card', 'caravan')
    assert r.returncode == 0 and 'ok  ' in r.stdout, r.stderr

@pytest.mark.parametrize('name', sorted(CASES))
def test_bad_file_is_refused_by_name(project, name):
    before = sorted(p.relative_to(project) for p in project.rglob('*'))
    r = modelbook(project, 'data', 'check', str(CORPUS/name), '--card', 'caravan')
    assert r.returncode == 1, r.stdout + r.stderr
    assert CASES[name] in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
    assert sorted(p.relative_to(project) for p in project.rglob('*')) == before, "a refused check must write nothing"

def test_pii_never_echoed(project):
    r = modelbook(project, 'data', 'check', str(CORPUS/'pii_column.csv'), '--card', 'caravan')
    assert '@example-mail.com' not in r.stdout + r.stderr
