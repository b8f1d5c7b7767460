"Raw data is verified against its datasheet from the command line; a changed byte is refused by name and hash."
import hashlib, os, subprocess
from conftest import BIN

def _modelbook(root, *args):
    return subprocess.run([BIN/'modelbook', *args], cwd=root, env={**os.environ, 'MODELBOOK_ROOT': str(root)},
                          capture_output=True, text=True)

def test_verify_passes_on_bundled_data(project_copy):
    r = _modelbook(project_copy, 'data', 'verify')
    assert r.returncode == 0, r.stderr
    assert 'ok  caravan: e89d49b6' in r.stdout and 'ok  bikeshare: ac6950ae' in r.stdout

def test_one_changed_byte_is_refused(project_copy):
    csv = project_copy/'data'/'raw'/'caravan.csv'
    raw = bytearray(csv.read_bytes())
    raw[1000] = ord('7') if raw[1000] != ord('7') else ord('6')
    csv.write_bytes(bytes(raw))
    new = hashlib.sha256(bytes(raw)).hexdigest()
    r = _modelbook(project_copy, 'data', 'verify', 'caravan')
    assert r.returncode == 1
    assert (str(csv) in r.stderr and new in r.stderr
            and 'e89d49b6fb8fe02d76bb5bb80d8e0dab473bf9f6a72515e30c259f6d7da42269' in r.stderr)
    assert 'Traceback' not in r.stderr

def test_data_report_writes_html(project_copy):
    r = _modelbook(project_copy, 'data', 'report', 'caravan')
    assert r.returncode == 0, r.stderr
    report, = (project_copy/'reports'/'data').glob('*/report.html')
    html = report.read_text()
    assert 'Caravan insurance customers' in html and html.count('data:image/png;base64') >= 3
    assert ('602 exact duplicate rows' in html or '602' in html)  # the quality profile found Caravan's duplicated rows
    assert 'contamination' in html                                     # and the guards ran on the card's split

def test_failed_data_report_is_marked_and_has_no_report(project_copy):
    r = _modelbook(project_copy, 'data', 'report', 'nope')
    assert r.returncode == 1 and 'No datasheet for data set `nope`' in r.stderr
    runs = list((project_copy/'reports'/'data').iterdir())
    assert len(runs) == 1 and runs[0].name.endswith('-FAILED') and not (runs[0]/'report.html').exists()
