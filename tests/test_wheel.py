"What users install is what was tested: build the wheel and import modelbook from it, outside the source tree."
import configparser, os, subprocess, sys, zipfile
from conftest import ROOT, copy_project

def test_wheel_installs_and_imports(tmp_path):
    src = copy_project(tmp_path/'src')        # build from a copy: setuptools leaves build/ and *.egg-info behind
    subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', tmp_path/'dist', src],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel, = (tmp_path/'dist').glob('modelbook-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT/'modelbook').rglob('*.py')}   # every layer's folder
    assert modules <= set(names), f"wheel lacks modules: {sorted(modules - set(names))}"
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith('METADATA'))).decode()
    status = configparser.ConfigParser(delimiters=['=']); status.read(ROOT/'settings.ini')
    assert f"Development Status :: {status['DEFAULT']['status']} - " in meta, meta[:2000]
    entry = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'modelbook = modelbook.cli:main' in zipfile.ZipFile(wheel).read(entry).decode()
    site = tmp_path/'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', site, wheel], check=True)
    env = {**os.environ, 'PYTHONPATH': str(site), 'MODELBOOK_ROOT': str(ROOT)}
    code = ("import modelbook, modelbook.data.load as d; print(modelbook.__file__); "
            "print(len(d.read_dataset('caravan')), modelbook.__version__)")
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    where, line = r.stdout.splitlines()
    assert where.startswith(str(site)), f"imported from {where}, not from the installed wheel"
    assert line.split()[0] == '5822'
