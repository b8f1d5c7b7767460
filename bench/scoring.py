"""Benchmark: batch scoring of a large Parquet file with bounded memory (modelbook.deploy.score.score_file).

Not a test; run on demand (a few minutes; it writes ~0.5 GB under /tmp and deletes it afterwards):

    MODELBOOK_ROOT=/path/to/project OMP_NUM_THREADS=1 python bench/scoring.py \\
        [--rows 5000000] [--chunk-rows 100000] [--scratch]

Model: the registered `--model` (caravan) at `--alias` (champion) in the configured MLflow store; with `--scratch`,
a Caravan gradient-boosting candidate trained and registered in a temporary store first (~20 s).

Input: ROWS rows resampled with replacement (seed 0) from the Caravan features (85 int64 columns) plus a
`customer_id`, written as Parquet in row groups of `--row-group` rows by a subprocess, so that generating it never
holds more than one row group; its peak RSS is reported.

Scoring: `score_file(model, input, output, chunk_rows=N, id_columns=['customer_id'])` in a fresh subprocess that
loads the model with `load_registered` first, as `modelbook score` does. Reported: rows/s inside score_file, wall
time of the whole subprocess (interpreter start, imports, model load, scoring), and the subprocess's peak RSS
(target < 2 GiB).

Peak RSS is VmHWM from /proc/PID/status (ScoreResult.peak_rss reads the same on Linux), not getrusage: Linux
carries the parent's peak into a child's ru_maxrss across exec, so a child of this (large) process would report
this process's peak instead of its own.

Reference: `model.predict_proba` in this process on the first `--reference-rows` (1,000,000) rows of the same file,
already conformed in memory (no reading, no checks, no writing): the model's own speed. The benchmark also checks
that score_file's probabilities for those rows equal the in-process ones.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
import pyarrow as pa, pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent


def _score_module():
    import modelbook.deploy.score as m
    return m


def _mib(n: int|None) -> str: return 'n/a' if n is None else f"{n / 2**20:,.0f} MiB"

def _own_peak() -> int:
    "This process's peak RSS in bytes: VmHWM (Linux), else getrusage."
    try:
        with open('/proc/self/status') as f: return next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmHWM:'))
    except (OSError, StopIteration): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform
                                                                                                  == 'darwin' else 1024)


# -- the child: score in a fresh process ------------------------------------------------------------------------
def child(args) -> None:
    t0 = time.perf_counter()
    from modelbook.lifecycle.registry import load_registered
    score = _score_module()
    model = load_registered(args.model, alias=args.alias)
    loaded = time.perf_counter() - t0
    r = score.score_file(model, args.input, args.output, chunk_rows=args.chunk_rows, id_columns=['customer_id'])
    print(json.dumps({'rows': r.rows, 'chunks': r.chunks, 'seconds': r.seconds, 'model_version': r.model_version,
                      'peak_rss': r.peak_rss, 'startup_and_load_seconds': loaded, 'text': str(r)}))


def child_generate(args) -> None:
    from modelbook.data.load import read_dataset
    features = json.loads(Path(args.features).read_text())
    g = generate(Path(args.generate), read_dataset(args.model)[features], args.rows, args.row_group)
    print(json.dumps(g))


# -- the parent ----------------------------------------------------------------------------------------------------
def _scratch_model(folder: Path, name: str) -> None:
    "Train and register a Caravan gradient-boosting candidate in a temporary MLflow store (it becomes champion)."
    os.environ['MLFLOW_TRACKING_URI'] = f"sqlite:///{folder}/mlflow.db"
    from modelbook.lifecycle.train import train_candidate
    from modelbook.lifecycle.registry import log_candidate
    t = log_candidate(train_candidate(name, 'hgb', n_boot=50).candidate())
    print(f"scratch model: `{name}` v{t.version} ({'champion' if t.champion else 'NOT champion: ' + t.reason})",
          flush=True)


def generate(path: Path, features: pd.DataFrame, rows: int, row_group: int) -> dict:
    "Write `rows` resampled rows (plus `customer_id`) as Parquet, one row group at a time."
    t0, rng, writer, done = time.perf_counter(), np.random.default_rng(0), None, 0
    base = features.to_numpy()
    try:
        while done < rows:
            n = min(row_group, rows - done)
            block = pd.DataFrame(base[rng.integers(0, len(base), n)], columns=features.columns)
            block.insert(0, 'customer_id', np.arange(done, done + n, dtype='int64') + 10_000_000)
            table = pa.Table.from_pandas(block, preserve_index=False)
            if writer is None: writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=row_group)
            done += n
    finally:
        if writer is not None: writer.close()
    return {'seconds': time.perf_counter() - t0, 'bytes': path.stat().st_size, 'peak_rss': _own_peak()}


def reference(model, path: Path, n: int, contract: dict) -> tuple[float, np.ndarray]:
    """Seconds for model.predict_proba on the first n rows of the file (conformed in memory beforehand), and the
    probabilities."""
    from modelbook.data.load import conform
    with pq.ParquetFile(path) as f: X = next(f.iter_batches(batch_size=n, columns=list(contract))).to_pandas()
    X = conform(X, contract, where=str(path))
    t0 = time.perf_counter()
    p = model.predict_proba(X)[:, 1]
    return time.perf_counter() - t0, p


def _run_child(extra: list[str]) -> dict|None:
    """Run this script with `extra` arguments in a fresh Python; its last stdout line as JSON (None, after printing its
    output, if it failed)."""
    proc = subprocess.run([sys.executable, __file__, *extra], capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, sep='\n'); return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=5_000_000)
    ap.add_argument('--row-group', type=int, default=250_000, help='rows per Parquet row group of the generated file')
    ap.add_argument('--chunk-rows', type=int, default=100_000)
    ap.add_argument('--reference-rows', type=int, default=1_000_000)
    ap.add_argument('--model', default='caravan'); ap.add_argument('--alias', default='champion')
    ap.add_argument('--scratch', action='store_true',
                    help='train and register a model in a temporary MLflow store first')
    ap.add_argument('--keep', action='store_true', help='keep the generated file and the output (in /tmp)')
    ap.add_argument('--child', nargs=2, metavar=('INPUT', 'OUTPUT'), help=argparse.SUPPRESS)
    ap.add_argument('--generate', help=argparse.SUPPRESS); ap.add_argument('--features', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.input, args.output = args.child
        child(args); return 0
    if args.generate: child_generate(args); return 0

    work = Path(tempfile.mkdtemp(prefix='modelbook-bench-scoring-', dir='/tmp'))
    try:
        if args.scratch: _scratch_model(work, args.model)
        from modelbook.lifecycle.registry import load_registered
        model = load_registered(args.model, alias=args.alias)
        contract = model.bundle['contract']
        print(f"model: `{model.name}` v{model.version}; python {platform.python_version()}, {os.cpu_count()} CPUs, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}", flush=True)

        src, out = work/'customers.parquet', work/'scores.parquet'
        (work/'features.json').write_text(json.dumps(list(contract)))
        g = _run_child(['--generate', str(src), '--features', str(work/'features.json'), '--rows', str(args.rows),
                        '--row-group', str(args.row_group), '--model', args.model])
        if g is None: return 1
        print(f"generated {args.rows:,} rows x {len(contract) + 1} columns in {g['seconds']:.1f} s (subprocess): "
              f"{g['bytes'] / 2**20:,.0f} MiB of Parquet in row groups of {args.row_group:,}; generator peak RSS "
              f"{_mib(g['peak_rss'])}", flush=True)

        t0 = time.perf_counter()
        r = _run_child(['--child', str(src), str(out), '--chunk-rows', str(args.chunk_rows), '--model', args.model,
                        '--alias', args.alias])
        wall = time.perf_counter() - t0
        if r is None: return 1
        n_out = pq.ParquetFile(out).metadata.num_rows

        ref_s, ref_p = reference(model.model, src, args.reference_rows, contract)
        with pq.ParquetFile(out) as f:
            got = next(f.iter_batches(batch_size=args.reference_rows,
                                      columns=['customer_id', 'probability'])).to_pandas()
        diff = float(np.max(np.abs(got['probability'].to_numpy() - ref_p)))
        ids_ok = bool((got['customer_id'].to_numpy() == 10_000_000 + np.arange(len(got))).all())

        target = 2 * 2**30
        print()
        print(f"score_file (subprocess, chunk_rows={args.chunk_rows:,}): {r['rows']:,} rows in {r['chunks']} chunks")
        print(f"  inside score_file : {r['seconds']:8.1f} s  {r['rows'] / r['seconds']:>10,.0f} rows/s   (read + "
              "contract check + predict + write)")
        print(f"  whole subprocess  : {wall:8.1f} s  {r['rows'] / wall:>10,.0f} rows/s   (incl. "
              f"{r['startup_and_load_seconds']:.1f} s imports + model load)")
        print(f"  peak RSS          : {_mib(r['peak_rss'])} (ScoreResult.peak_rss: the subprocess's VmHWM); "
              f"target < {_mib(target)}: {'OK' if r['peak_rss'] and r['peak_rss'] < target else 'MISSED'}")
        print(f"in-process predict_proba on {args.reference_rows:,} conformed rows: {ref_s:8.1f} s  "
              f"{args.reference_rows / ref_s:>10,.0f} rows/s")
        print("score_file throughput / predict_proba throughput: "
              f"{r['rows'] / r['seconds'] / (args.reference_rows / ref_s):.2f}")
        print(f"check: output rows {n_out:,} (expected {args.rows:,}); first {args.reference_rows:,} ids in order: "
              f"{ids_ok}; max |p_score_file - p_in_process| = {diff:.1e}")
        return 0 if n_out == args.rows and ids_ok and diff <= 1e-12 else 1
    finally:
        if args.keep: print(f"kept {work}")
        else: shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
