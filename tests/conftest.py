"Shared fixtures: the project root, the venv's executables, and a scratch copy of the project."
import json, os, shutil, signal, socket, subprocess, sys, time
from contextlib import contextmanager
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# seconds per test (setup + call + teardown) from a full run; refresh with --record-durations
DURATIONS = ROOT/'tests'/'durations.json'

def pytest_addoption(parser):
    parser.addoption('--record-durations', action='store_true',
                     help=f"write each test's seconds into {DURATIONS.relative_to(ROOT)} (to order the next runs)")

@pytest.hookimpl(trylast=True)   # after -m has deselected, so that the first `trained` user is one that runs
def pytest_collection_modifyitems(config, items):
    """Longest tests first, so that with xdist the last tests to start are short and no worker runs long alone at the
    end. A test without a recorded time counts as long (a new end-to-end test must not start last). The longest test
    that uses the shared `trained` project goes first (it builds it); the others stay out of the first round, where they
    would only wait for its lock."""
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    items.sort(key=lambda i: -seconds.get(i.nodeid, float('inf')))
    users = [i for i in items if 'trained' in getattr(i, 'fixturenames', ())]
    # building the project + its longest user is the longest chain
    if users: items.remove(users[0]); items.insert(0, users[0])
    first_round = 2 * max(int(getattr(config.option, 'numprocesses', 0) or 0), 1)
    for i in users[1:]:
        if items.index(i) < first_round: items.remove(i); items.insert(first_round, i)

_recorded: dict = {}
_cpu: dict = {}

def _cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have ended (notebook runs, CLIs, servers after they
    stop)."""
    import resource
    return sum(u.ru_utime + u.ru_stime
               for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Start each test's CPU count before its fixtures are set up (a shared fixture is charged to the test that builds
    it)."""
    item._cpu_start = _cpu_seconds()

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach each test's CPU seconds (setup to teardown) to its teardown report, so that xdist brings it to the
    controller."""
    outcome = yield
    if call.when == 'teardown' and hasattr(item, '_cpu_start'):
        outcome.get_result().user_properties.append(('cpu_seconds', _cpu_seconds() - item._cpu_start))

def pytest_runtest_logreport(report):
    if report.when in ('setup', 'call', 'teardown'): _recorded[report.nodeid] = _recorded.get(report.nodeid,
                                                                                              0.0) + report.duration
    for k, v in report.user_properties:
        if k == 'cpu_seconds': _cpu[report.nodeid] = v

def pytest_terminal_summary(terminalreporter, config):
    "With --record-durations: the tests that cost the most CPU (the suite's budget is CPU on 2 cores, not wall time)."
    if config.getoption('--record-durations') and _cpu:
        top = sorted(_cpu.items(), key=lambda kv: -kv[1])
        terminalreporter.section(f"CPU seconds per test (total {sum(_cpu.values()):,.0f} s over {len(_cpu)} tests)")
        for k, v in top[:30]: terminalreporter.write_line(f"{v:8.1f}  {k}")

def pytest_sessionfinish(session):
    if session.config.getoption('--record-durations') and not hasattr(session.config, 'workerinput') and _recorded:
        old = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        new = {**old, **{k: round(v, 1) for k, v in _recorded.items()}}
        DURATIONS.write_text(json.dumps(dict(sorted(new.items(), key=lambda kv: -kv[1])), indent=0) + '\n')

def tracked_files() -> list[str]:
    "Files git tracks, plus new files not ignored: what a clone of this tree would hold."
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if (ROOT/f).exists()]

def copy_project(dest: Path, only: tuple[str, ...] = ()) -> Path:
    "Copy the project's tracked files (or those under the `only` prefixes) into `dest`."
    for f in tracked_files():
        if only and not f.startswith(only): continue
        (dest/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT/f, dest/f)
    return dest

def run_card(dest: Path, card: str, **params) -> tuple[Path, Path, dict]:
    """Copy the project into `dest` and `modelbook run CARD -p NAME VALUE ...` there, which must succeed; (project root,
    the run's folder, its metrics.json)."""
    root = copy_project(dest)
    r = modelbook(root, 'run', card, *[a for k, v in params.items() for a in ('-p', k, str(v))])
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, = sorted((root/'reports'/card).iterdir())
    return root, run_dir, json.loads((run_dir/'metrics.json').read_text())

@pytest.fixture
def project_copy(tmp_path):
    "A throwaway copy of the project (tracked files only) that a test may break."
    return copy_project(tmp_path/'project')

def env_for(root) -> dict:
    "The environment a command sees in a project copy: its own root and tracking store, no pickles."
    env = {k: v for k, v in os.environ.items() if k not in ('MLFLOW_TRACKING_URI', 'MODELBOOK_API_TOKEN')}
    return {**env, 'MODELBOOK_ROOT': str(root), 'MLFLOW_ALLOW_PICKLE_DESERIALIZATION': 'false'}

def modelbook(root, *args, timeout=600):
    "Run the `modelbook` command in a project copy."
    return subprocess.run([BIN/'modelbook', *args], cwd=root, env=env_for(root), capture_output=True, text=True,
                          timeout=timeout)

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='session')
def trained(tmp_path_factory, worker_id):
    """A project copy with one trained, registered champion (hgb, few bootstrap replicates), built once per test session
    and shared by the xdist workers (the first one to get the lock trains; the others wait and reuse it). Tests that use
    it only add runs, reports, tags and monitor outputs, never move the champion, so they can share it."""
    import fcntl, json
    from types import SimpleNamespace
    base = tmp_path_factory.getbasetemp() if worker_id == 'master' else tmp_path_factory.getbasetemp().parent
    shared, root = base/'lifecycle-shared', base/'lifecycle-shared'/'project'
    shared.mkdir(exist_ok=True)
    with open(shared/'lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared/'result.json').exists():
            copy_project(root)
            r = modelbook(root, 'run', 'caravan', '-p', 'model', 'hgb', '-p', 'n_boot', '200')
            (shared/'result.json').write_text(json.dumps({'returncode': r.returncode, 'stdout': r.stdout,
                                                          'stderr': r.stderr}))
        r = SimpleNamespace(**json.loads((shared/'result.json').read_text()))
    assert r.returncode == 0, r.stdout + r.stderr
    return root, r

@contextmanager
def serving(root, *args, env=None, model='caravan', command=None):
    """Run `modelbook serve --model MODEL` (plus `args`; `command` replaces `modelbook`, e.g. a generated project's CLI)
    on a free loopback port until /ready answers; yield (url, process); stop it."""
    import httpx
    port = free_port()
    proc = subprocess.Popen([*(command or [BIN/'modelbook']), 'serve', '--model', model, '--port', str(port),
                             *map(str, args)], cwd=root,
                            env=env or env_for(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
            # imports and model loading take seconds alone, minutes on a loaded CI machine
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None: pytest.fail(f"service exited with {proc.returncode} before it was ready: "
                                                        f"{proc.stdout.read()}")
                try:
                    if http.get('/ready').status_code == 200: break
                except httpx.TransportError: pass
                if time.monotonic() > deadline: pytest.fail("service did not become ready within 120 s")
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None: os.killpg(proc.pid, signal.SIGTERM); proc.wait(timeout=30)
