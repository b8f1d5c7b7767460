"""Benchmark: modelbook's drift check (reference_profile + drift_report) vs a plain scipy pass vs Evidently.

Not a test; run on demand (about 3-4 minutes on 2 cores; the first run also builds Evidently's venv, ~1-2 min):

    MODELBOOK_ROOT=/path/to/project OMP_NUM_THREADS=1 python bench/drift.py [--rows 1000000] [--runs 3]
        [--evidently-runs 1] [--no-evidently] [--evidently-venv DIR] [--out FILE.json]

Data (same generator, seeds and constants as the P2 anchor, shared/bench/anchors/p2_make_data.py): a reference
and a current frame of ROWS x 25 each: num_00..num_19 float64, column i ~ Normal(mu_i, sd_i); cat_0..cat_4 strings
with 10 levels, uniform. In the current frame num_02, num_05, num_09, num_13, num_17 are shifted by 0.1 sd and
cat_1, cat_3 follow a skewed level distribution. Written ONCE to Parquet in a temp dir; every contender reads the
same two files.

Contenders, each run in its own fresh process (so each has its own peak RSS), runs interleaved round by round:
  ours      `reference_profile(ref)` + JSON round trip (untimed) + `drift_report(profile, cur)` from
            modelbook.monitor.drift; flags = BH-adjusted p < 0.05 (the report's `drifted`).
  plain     scipy.stats.ks_2samp(method='asymp') per numeric column, scipy.stats.chi2_contingency on the 2 x k table
            of value counts per categorical column, 10-bin quantile PSI per numeric column (the anchor's baseline);
            flags = raw p < 0.05 (as the anchor; BH-adjusted flags reported too).
  evidently Report([DataDriftPreset()]) with defaults on Dataset.from_pandas of both frames, + snapshot.dict(); flags
            read from its ValueDrift metrics (as the anchor). Evidently 0.7.23 does not import with pandas 3, so it
            runs in its own venv (pandas<3), created on first use in --evidently-venv
            (default ~/.cache/modelbook-bench/evidently-venv); if that fails, Evidently is skipped with a message. An
            existing folder is only ever deleted and rebuilt if this script created it (marker file inside it).
            The plain pass is also run once in that venv, as a same-environment control.

Per run: the machine's 1-minute load average (max of before/after; a warning is printed when it exceeds the CPU
count, since times then include waiting for the CPU), compute seconds (after both files are loaded), whole-process wall
seconds (interpreter start, imports, load, compute), peak RSS = VmHWM from /proc/self/status read by the child at its
end (not getrusage: Linux carries a parent's ru_maxrss into its exec'd child), and VmHWM right after loading the two
frames.

Targets (issue #8): Evidently / ours compute >= 15x; ours / plain compute <= 1.3x; our peak RSS <= half of
Evidently's; ours flags exactly the 7 shifted columns.
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve()
ALPHA = 0.05
EVIDENTLY_PINS = ["evidently==0.7.23", "pandas<3", "pyarrow"]
DEFAULT_EV_VENV = Path.home() / ".cache" / "modelbook-bench" / "evidently-venv"
EV_MARKER = ".modelbook-bench-evidently"   # written into a venv this script built; only such a venv is ever rebuilt

# -- data: the P2 anchor's generator, unchanged --------------------------------------------------------------------
SEED, N_NUM, N_CAT, N_LEVELS = 20240601, 20, 5, 10
SHIFTED_NUM = ["num_02", "num_05", "num_09", "num_13", "num_17"]
SHIFTED_CAT = ["cat_1", "cat_3"]
SHIFT_SD = 0.1
CHANGED_P = [0.20, 0.16, 0.12, 0.10, 0.10, 0.08, 0.08, 0.06, 0.05, 0.05]
NUM_COLS = [f"num_{i:02d}" for i in range(N_NUM)]
CAT_COLS = [f"cat_{i}" for i in range(N_CAT)]
TRUTH = sorted(SHIFTED_NUM + SHIFTED_CAT)


def make_frame(n_rows: int, current: bool, seed: int):
    "One frame of the P2 anchor (p2_make_data.make_frame)."
    import numpy as np, pandas as pd
    rng0 = np.random.default_rng(SEED)
    mu, sd = rng0.uniform(-5, 5, N_NUM), rng0.uniform(0.5, 3, N_NUM)
    levels = np.array([f"L{i}" for i in range(N_LEVELS)])
    rng, cols = np.random.default_rng(seed), {}
    for i, name in enumerate(NUM_COLS):
        shift = SHIFT_SD * sd[i] if (current and name in SHIFTED_NUM) else 0.0
        cols[name] = rng.normal(mu[i] + shift, sd[i], n_rows)
    for name in CAT_COLS:
        p = CHANGED_P if (current and name in SHIFTED_CAT) else np.full(N_LEVELS, 1.0 / N_LEVELS)
        cols[name] = levels[rng.choice(N_LEVELS, size=n_rows, p=p)]
    return pd.DataFrame(cols)


def write_data(folder: Path, rows: int) -> None:
    make_frame(rows, current=False, seed=SEED + 1).to_parquet(folder / "ref.parquet", index=False)
    make_frame(rows, current=True, seed=SEED + 2).to_parquet(folder / "cur.parquet", index=False)


# -- helpers used by the children ----------------------------------------------------------------------------------
def vm_hwm_mib() -> float:
    "This process's peak RSS (VmHWM) in MiB."
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024


class Loaded(NamedTuple):
    "The two frames of a run, the seconds their reading took and VmHWM right after."
    ref: object   # pandas.DataFrame (pandas is imported in the child only)
    cur: object
    seconds: float
    rss_mib: float

def load(data: str) -> Loaded:
    import pandas as pd
    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(f"{data}/ref.parquet"), pd.read_parquet(f"{data}/cur.parquet")
    return Loaded(ref, cur, time.perf_counter() - t0, vm_hwm_mib())


def bh(p):
    "Benjamini-Hochberg adjusted p-values (independent of modelbook's, for the plain pass's BH flags)."
    import numpy as np
    p = np.asarray(p, float); o = np.argsort(p); m = len(p)
    adj = np.minimum.accumulate((p[o] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m); out[o] = np.minimum(adj, 1); return out


# -- the children ----------------------------------------------------------------------------------------------------
def child_ours(a) -> dict:
    from modelbook.data.profile import reference_profile
    from modelbook.monitor.drift import drift_report
    ref, cur, load_s, rss_loaded = load(a.data)
    t0 = time.perf_counter()
    profile = reference_profile(ref, categorical=CAT_COLS, numeric=NUM_COLS)
    t1 = time.perf_counter()
    text = json.dumps(profile)                                  # what the lifecycle stores next to the model
    profile = json.loads(text)
    t2 = time.perf_counter()
    report = drift_report(profile, cur)
    t3 = time.perf_counter()
    table = report.table().set_index("column")
    return dict(load_s=load_s, compute_s=(t1 - t0) + (t3 - t2), profile_s=t1 - t0, report_s=t3 - t2,
                rss_after_load_mib=rss_loaded, peak_rss_mib=vm_hwm_mib(), flagged=sorted(report.drifted),
                verdict=bool(report.verdict), profile_kib=len(text) / 1024,
                min_p_unshifted=float(table.drop(index=TRUTH).p_value.min()),
                values={c: {k: (None if v != v else v) for k,
                            v in table.loc[c, ["statistic", "p_value", "p_adjusted", "psi"]].items()}
                        for c in table.index})


def child_plain(a) -> dict:
    import numpy as np, pandas as pd
    from scipy import stats
    ref, cur, load_s, rss_loaded = load(a.data)
    t0 = time.perf_counter()
    out = {}
    for c in NUM_COLS:
        r, k = ref[c].to_numpy(), cur[c].to_numpy()
        ks = stats.ks_2samp(r, k, method="asymp")
        edges = np.quantile(r, np.linspace(0, 1, 11))[1:-1]
        pr = np.maximum(np.bincount(np.searchsorted(edges, r, side="right"), minlength=10) / r.size, 1e-6)
        pc = np.maximum(np.bincount(np.searchsorted(edges, k, side="right"), minlength=10) / k.size, 1e-6)
        out[c] = dict(statistic=float(ks.statistic), p_value=float(ks.pvalue),
                      psi=float(np.sum((pc - pr) * np.log(pc / pr))))
    for c in CAT_COLS:
        table = pd.concat([ref[c].value_counts(), cur[c].value_counts()], axis=1).fillna(0).to_numpy().T
        chi = stats.chi2_contingency(table, correction=False)
        out[c] = dict(statistic=float(chi.statistic), p_value=float(chi.pvalue))
    compute_s = time.perf_counter() - t0
    cols = list(out)
    adj = bh([out[c]["p_value"] for c in cols])
    return dict(load_s=load_s, compute_s=compute_s, rss_after_load_mib=rss_loaded, peak_rss_mib=vm_hwm_mib(),
                flagged=sorted(c for c in cols if out[c]["p_value"] < ALPHA),
                flagged_bh=sorted(c for c, p in zip(cols, adj) if p < ALPHA),
                min_p_unshifted=min(out[c]["p_value"] for c in cols if c not in TRUTH), pandas=pd.__version__,
                values=out)


def _is_p_value_method(method: str, numeric: bool) -> bool:
    "True if an Evidently stattest yields a p-value (drift = value < threshold), as in the P2 anchor."
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType
    try:
        name = get_registered_stattest(method, ColumnType.Numerical if numeric else ColumnType.Categorical).display_name
    except Exception:
        name = method
    return "p_value" in name.lower() or "p-value" in name.lower()


def child_evidently(a) -> dict:
    import evidently, pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    ref, cur, load_s, rss_loaded = load(a.data)
    t0 = time.perf_counter()
    dd = DataDefinition(numerical_columns=NUM_COLS, categorical_columns=CAT_COLS)
    snapshot = Report([DataDriftPreset()]).run(current_data=Dataset.from_pandas(cur, data_definition=dd),
                                               reference_data=Dataset.from_pandas(ref, data_definition=dd))
    result = snapshot.dict()
    compute_s = time.perf_counter() - t0
    flagged, values, methods = [], {}, set()
    for m in result["metrics"]:
        cfg = m.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"): continue
        col, thr, method, v = cfg["column"], cfg["threshold"], cfg.get("method", ""), m["value"]
        values[col] = dict(value=v, method=method, threshold=thr); methods.add(method)
        if (v < thr) if _is_p_value_method(method, col in NUM_COLS) else (v >= thr): flagged.append(col)
    return dict(load_s=load_s, compute_s=compute_s, rss_after_load_mib=rss_loaded, peak_rss_mib=vm_hwm_mib(),
                flagged=sorted(flagged), methods=sorted(methods), evidently=evidently.__version__,
                pandas=pd.__version__, values=values)


CHILDREN = {"ours": child_ours, "plain": child_plain, "evidently": child_evidently}


# -- the parent ------------------------------------------------------------------------------------------------------
def evidently_python(venv: Path) -> tuple[str | None, str]:
    "Python of a venv where evidently 0.7.23 imports (creating the venv if needed), or None and the reason."
    py = venv / "bin" / "python"
    check = [str(py), "-c", "import evidently, pandas; print(evidently.__version__, pandas.__version__)"]
    if py.exists():
        r = subprocess.run(check, capture_output=True, text=True)
        if r.returncode == 0: return str(py), f"evidently venv {venv} (evidently, pandas: {r.stdout.strip()})"
    print(f"creating the Evidently venv in {venv} ({' '.join(EVIDENTLY_PINS)}); this takes a minute or two ...",
          flush=True)
    base = shutil.which("python3") or getattr(sys, "_base_executable", sys.executable)
    if venv.exists() and any(venv.iterdir()) and not (venv / EV_MARKER).exists():
        return None, (f"{venv} exists, is not empty and was not built by this script, and evidently does not import "
                      f"there; not touching it. Pass --evidently-venv with a new folder.")
    try:
        if venv.exists(): shutil.rmtree(venv)  # our own venv where evidently does not import: rebuild it
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        (venv / EV_MARKER).write_text("built by modelbook bench/drift.py; may be deleted and rebuilt by it\n")
        subprocess.run([str(py), "-m", "pip", "install", "-q", *EVIDENTLY_PINS], check=True, capture_output=True,
                       text=True)
        r = subprocess.run(check, capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        return None, f"could not build an Evidently venv in {venv}: {detail.strip()[-800:]}"
    return str(py), f"evidently venv {venv} (new; evidently, pandas: {r.stdout.strip()})"


def run_child(python: str, which: str, data: Path, extra: list[str] = (), label: str | None = None) -> dict:
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    proc = subprocess.run([python, str(HERE), "--child", which, "--data", str(data), *extra],
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t0
    if proc.returncode != 0: raise RuntimeError(f"{which} child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall_s"], res["loadavg_1min"] = wall, max(load0, os.getloadavg()[0])
    print(f"  {label or which:<22} compute {res['compute_s']:7.2f} s  process {wall:7.2f} s  "
          f"peak {res['peak_rss_mib']:7.0f} MiB  load {res['loadavg_1min']:4.1f}  flagged {res['flagged']}", flush=True)
    return res


def summary(runs: list[dict]) -> dict:
    med = lambda k: statistics.median(r[k] for r in runs)
    out = {k: med(k) for k in ("compute_s", "process_wall_s", "peak_rss_mib", "rss_after_load_mib", "load_s",
                               "loadavg_1min")}
    out.update({f"{k}_range": [min(r[k] for r in runs), max(r[k] for r in runs)]
                for k in ("compute_s", "peak_rss_mib")})
    out.update(n=len(runs), flagged=runs[0]["flagged"],
               flags_stable=all(r["flagged"] == runs[0]["flagged"] for r in runs),
               matches_truth=runs[0]["flagged"] == TRUTH, false_flags=sorted(set(runs[0]["flagged"]) - set(TRUTH)),
               missed=sorted(set(TRUTH) - set(runs[0]["flagged"])),
               **{k: runs[0][k] for k in ("profile_s", "report_s", "verdict", "flagged_bh", "methods", "evidently",
                                          "pandas", "profile_kib", "min_p_unshifted", "values") if k in runs[0]})
    if "profile_s" in runs[0]:
        out["profile_s"], out["report_s"] = med("profile_s"), med("report_s")
    return out


def table(res: dict) -> str:
    rows = ["| contender | compute s (median, min-max) | process wall s | peak RSS MiB | RSS after load MiB | n | "
            "flagged | = truth |",
            "|---|---|---|---|---|---|---|---|"]
    for name, s in res["contenders"].items():
        rows.append(f"| {name} | {s['compute_s']:.2f} ({s['compute_s_range'][0]:.2f}-{s['compute_s_range'][1]:.2f}) | "
                    f"{s['process_wall_s']:.2f} | {s['peak_rss_mib']:,.0f} | {s['rss_after_load_mib']:,.0f} | "
                    f"{s['n']} | {', '.join(s['flagged']) or '(none)'} | {s['matches_truth']} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="runs of ours and plain (fresh process each)")
    ap.add_argument("--evidently-runs", type=int, default=1)
    ap.add_argument("--no-evidently", action="store_true")
    ap.add_argument("--evidently-venv", type=Path, default=DEFAULT_EV_VENV)
    ap.add_argument("--out", type=Path, default=None, help="JSON results file")
    ap.add_argument("--child", choices=list(CHILDREN)); ap.add_argument("--data")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(CHILDREN[a.child](a), default=float)); return

    tmp = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    try:
        t0 = time.perf_counter(); write_data(tmp, a.rows)
        print(f"data: {a.rows:,} x 25 reference + current -> {tmp} ({time.perf_counter() - t0:.1f} s, "
              f"{sum(f.stat().st_size for f in tmp.glob('*.parquet')) / 2**20:,.0f} MiB Parquet); truth: {TRUTH}",
              flush=True)
        ev_py, ev_note = (None, "skipped (--no-evidently)") if a.no_evidently else evidently_python(a.evidently_venv)
        print(f"Evidently: {ev_note}" if ev_py else f"Evidently SKIPPED: {ev_note}", flush=True)

        contenders = {"ours": [], "plain": []}
        for i in range(a.runs):
            print(f"round {i + 1}/{a.runs}", flush=True)
            for name in contenders:
                contenders[name].append(run_child(sys.executable, name, tmp))
        if ev_py:
            contenders["plain (evidently venv)"] = [run_child(ev_py, "plain", tmp, label="plain (evidently venv)")]
            contenders["evidently"] = [run_child(ev_py, "evidently", tmp) for _ in range(a.evidently_runs)]

        res = {"rows": a.rows, "truth": TRUTH, "evidently_note": ev_note, "cpu_count": os.cpu_count(),
               "platform": platform.platform(), "python": sys.version.split()[0],
               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "contenders": {k: summary(v) for k, v in contenders.items() if v}}
        c = res["contenders"]
        ratios = {}
        ratios["ours / plain, compute (target <= 1.3)"] = c["ours"]["compute_s"] / c["plain"]["compute_s"]
        if "evidently" in c:
            ratios["evidently / ours, compute (target >= 15)"] = c["evidently"]["compute_s"] / c["ours"]["compute_s"]
            ratios["evidently / ours, process wall"] = c["evidently"]["process_wall_s"] / c["ours"]["process_wall_s"]
            ratios["ours peak / evidently peak (target <= 0.5)"] = (c["ours"]["peak_rss_mib"]
                                                                    / c["evidently"]["peak_rss_mib"])
        res["ratios"] = ratios
        print("\n" + table(res) + "\n")
        busy = max(s["loadavg_1min"] for s in c.values())
        if busy > (os.cpu_count() or 1):
            print(f"WARNING: the 1-minute load average reached {busy:.1f} on {os.cpu_count()} CPUs during the runs: "
                  "other processes competed for the CPU, so times are inflated (ratios of interleaved runs less so). "
                  "Rerun on a quiet machine.")
        for k, v in ratios.items(): print(f"{k}: {v:.2f}")
        o = c["ours"]
        print(f"ours: reference_profile {o['profile_s']:.2f} s + drift_report {o['report_s']:.2f} s; profile "
              f"{o['profile_kib']:.0f} KiB JSON; verdict {o['verdict']}; lowest p among unshifted columns "
              f"{o['min_p_unshifted']:.3g}")
        print(f"plain: flagged after BH {c['plain']['flagged_bh']}; lowest p among unshifted "
              f"{c['plain']['min_p_unshifted']:.3g}")
        if "evidently" in c: print(f"evidently methods: {c['evidently']['methods']}")
        if a.out:
            a.out.parent.mkdir(parents=True, exist_ok=True)
            a.out.write_text(json.dumps(res, indent=2, default=float)); print(f"wrote {a.out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
