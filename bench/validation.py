"""Benchmark: validating a data contract with pandera (modelbook.data.contract.validate) vs plain vectorised pandas.

Not a test; run on demand:  MODELBOOK_ROOT=/path/to/project python bench/validation.py [--rows 1000000]

Frame: the Caravan data (read_dataset('caravan'): 85 int64 columns + `Purchase` Categorical No/Yes) resampled
with replacement to ROWS rows (seed 0), i.e. 1,000,000 x 86 by default.

pandera side: `validate(df, contract, where=...)` -- builds the schema from the contract, runs it with
`lazy=True`, turns the errors into the report; exactly what the lifecycle calls.
pandas side: the same rules written by hand -- column set, repeated names, row count, dtype, notna, finite,
`between`, `isin`, unique, unique combinations -- evaluated for every column, failures collected into a full
report (column, check, failing_rows, first five row labels, example values), like lazy=True.

Timing: per scenario 1 warm-up of each side, then 3 rounds, each timing pandera then pandas back to back (so both
see the same machine load); medians, min-max, and the per-round ratio. A sanity pass first checks that both sides
find the same failures in a corrupted copy. Anchor (shared/bench/anchors P4, 1M x 25, float + str):
pandera 0.121 s vs pandas 0.080 s (1.52x).
"""
from __future__ import annotations
import argparse, os, platform, statistics, sys, time
from importlib import metadata
from pathlib import Path
import numpy as np, pandas as pd
import pandera.pandas as pa

HERE = Path(__file__).resolve().parent

import modelbook.data.contract as C

from modelbook.core.config import paths
from modelbook.data.load import read_dataset


# -- the hand-written pandas equivalent -------------------------------------------------------------------------
def _fail(rows, column, check, mask=None, values=None, index=None):
    if mask is None: rows.append(dict(column=column, check=check, failing_rows=None, first_rows=[],
                                      example_values=[])); return
    idx = index[mask]
    vals = values[mask]
    rows.append(dict(column=column, check=check, failing_rows=len(idx), first_rows=idx[:5].tolist(),
                     example_values=list(dict.fromkeys(vals[:1000].tolist()))[:5]))

def _inside(s: pd.Series, lo, hi, shortcut: bool) -> pd.Series|bool:
    "True where lo <= s <= hi (NaN: False); with `shortcut`, a plain True when min and max are inside."
    lo, hi = -np.inf if lo is None else lo, np.inf if hi is None else hi
    if shortcut:
        v = s.to_numpy()
        if s.notna().all() and v.min() >= lo and v.max() <= hi: return True
    return s.between(lo, hi)

def pandas_report(df: pd.DataFrame, contract: dict, *, shortcut: bool=False) -> list[dict]:
    """Every failure of `df` against `contract`, checked with plain vectorised pandas (`between`, or min/max first with
    `shortcut`)."""
    rows, cols, frame = [], contract['columns'], contract.get('frame') or {}
    if len(df) < frame.get('min_rows', 1): _fail(rows, None, 'min_rows')
    names = pd.Index(df.columns)
    for c in names[names.duplicated()].unique(): _fail(rows, c, 'column_name')
    for c in cols:
        if c not in names: _fail(rows, c, 'missing')
    if frame.get('columns', 'exact') == 'exact':
        for c in names:
            if c not in cols: _fail(rows, c, 'unexpected')
    if len(df) == 0: return rows
    index = df.index
    for c, spec in cols.items():
        if c not in names: continue
        s, kind = df[c], spec['dtype']
        if isinstance(s, pd.DataFrame): s = s.iloc[:, 0]
        ok_dtype = {'int': s.dtype == np.int64, 'float': s.dtype == np.float64,
                    'category': isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s),
                    'str': pd.api.types.is_string_dtype(s)}[kind]
        if not ok_dtype: _fail(rows, c, 'dtype'); continue
        na = s.isna()
        if not spec.get('nullable', False) and na.any(): _fail(rows, c, 'not_nullable', na.to_numpy(), s.to_numpy(),
                                                               index)
        if kind == 'float':
            fin = np.isfinite(s) | na
            if not fin.all(): _fail(rows, c, 'finite', ~fin.to_numpy(), s.to_numpy(), index)
        if kind in ('int', 'float') and (spec.get('min') is not None or spec.get('max') is not None):
            inside = _inside(s, spec.get('min'), spec.get('max'), shortcut)
            if inside is not True and not inside.all():
                bad = ~(inside | na).to_numpy() & (np.isfinite(s.to_numpy()) if kind == 'float' else True)
                if bad.any(): _fail(rows, c, 'range', bad, s.to_numpy(), index)
        if kind == 'category':
            ok = s.isin(spec['levels'])
            if not ok.all():
                bad = ~(ok | na).to_numpy()
                if bad.any(): _fail(rows, c, 'levels', bad, s.astype(object).to_numpy(), index)
        if spec.get('unique'):
            bad = s.duplicated(keep=False).to_numpy()
            if bad.any(): _fail(rows, c, 'unique', bad, s.to_numpy(), index)
    for combo in frame.get('unique') or []:
        bad = df.duplicated(combo, keep=False).to_numpy()
        if bad.any(): _fail(rows, None, 'unique_combination', bad,
                            np.array(list(df[combo].itertuples(index=False, name=None)), dtype=object), index)
    return rows


# -- timing -----------------------------------------------------------------------------------------------------
def _pandera(df, contract):
    try: C.validate(df, contract, where='bench'); return []
    except C.ContractViolation as e: return e.report

def rounds(a, b, n=3):
    "Warm up both, then n rounds timing a then b; returns the two lists of seconds."
    a(); b()
    ta, tb = [], []
    for _ in range(n):
        t0 = time.perf_counter(); a(); ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); b(); tb.append(time.perf_counter() - t0)
    return ta, tb

def _fmt(ts): return f"{statistics.median(ts):7.3f} ({min(ts):.3f}-{max(ts):.3f})"

def _row(name, ta, tb, la='pandera', lb='pandas'):
    r = [x / y for x, y in zip(ta, tb)]
    return (f"{name:<50} {_fmt(ta):>22} {_fmt(tb):>22} {statistics.median(ta)/statistics.median(tb):6.2f}x  (per round "
            f"{min(r):.2f}-{max(r):.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rows', type=int, default=1_000_000)
    ap.add_argument('--repeats', type=int, default=3)
    args = ap.parse_args()

    caravan = read_dataset('caravan')
    folder = paths().root/'data'/'contracts'
    contract = C.load_contract('caravan', folder=folder)
    t0 = time.perf_counter()
    df = caravan.sample(args.rows, replace=True, random_state=0).reset_index(drop=True)
    print(f"frame: {df.shape[0]:,} x {df.shape[1]} resampled from caravan (seed 0) in {time.perf_counter() - t0:.1f} "
          f"s; dtypes {dict(df.dtypes.astype(str).value_counts())}; {df.memory_usage(deep=False).sum() / 2**20:,.0f} "
          "MiB")

    # sanity: both sides find the same failures in a corrupted copy (not timed)
    bad = df.head(50_000).copy()
    bad['Purchase'] = bad['Purchase'].cat.add_categories('Maybe')
    bad.loc[[3, 17, 4000], 'MOSTYPE'] = [0, 99, 42]; bad.loc[7, 'Purchase'] = 'Maybe'; bad.loc[11, 'PPERSAUT'] = -1
    key = lambda rows: sorted((r['column'], r['failing_rows'], tuple(r['first_rows'])) for r in rows)
    got_pa = key(_pandera(bad, contract).to_dict('records')); got_pd = key(pandas_report(bad, contract))
    print(f"sanity (50k-row corrupted copy): pandera {got_pa}; pandas {got_pd}; same: {got_pa == got_pd}")
    got_sc = key(pandas_report(bad, contract, shortcut=True))
    assert got_pa == got_pd == got_sc and _pandera(df, contract) == [] and pandas_report(df, contract) == []

    n = args.repeats
    title = f"scenario (seconds: median (min-max) of {n} runs)"
    print(f"\n{title:<50} {'pandera':>22} {'pandas':>22}  ratio")
    main_a, main_b = rounds(lambda: _pandera(df, contract), lambda: pandas_report(df, contract), n)
    print(_row(f"MAIN validate() vs pandas, clean {args.rows // 1000:,}k x 86", main_a, main_b))

    print("where the time goes / cheap wins:")
    ta, tb = rounds(lambda: _pandera(df, contract), lambda: pandas_report(df, contract, shortcut=True), n)
    print(_row("  same, pandas also min/max first", ta, tb))
    elementwise = C.contract_schema(contract)
    for c, spec in contract['columns'].items():  # pandera's own Check.in_range in place of the min/max check (as in P4)
        if 'min' in spec: elementwise = elementwise.update_column(c,
                                                                  checks=[pa.Check.in_range(spec['min'], spec['max'])])
    ta, tb = rounds(lambda: elementwise.validate(df, lazy=True, inplace=True), lambda: pandas_report(df, contract), n)
    print(_row("  pandera Check.in_range (2 masks/column)", ta, tb))
    schema = C.contract_schema(contract)
    ta, tb = rounds(lambda: schema.validate(df, lazy=True), lambda: schema.validate(df, lazy=True, inplace=True), n)
    print(_row("  pandera default copy vs inplace=True", ta, tb, 'copy', 'inplace'))
    ta, tb = rounds(lambda: C.contract_schema(contract), lambda: C._schema_of(contract), n)
    print(_row("  schema: build from contract vs cached", ta, tb, 'build', 'cached'))

    txt = df.assign(Purchase=df['Purchase'].astype('str'))
    ta, tb = rounds(lambda: _pandera(txt, contract), lambda: pandas_report(txt, contract), n)
    print(_row("validate(), Purchase as text (raw CSV)", ta, tb))
    lv, purchase, purchase_txt = C._levels_check(['No', 'Yes']), df['Purchase'], txt['Purchase']
    ta, tb = rounds(lambda: lv(purchase), lambda: purchase_txt.isin(['No', 'Yes']), n)
    print(_row("  levels: via categories vs isin on text", ta, tb, 'codes', 'isin'))
    ta, tb = rounds(lambda: lv(purchase), lambda: purchase.isin(['No', 'Yes']), n)
    print(_row("  levels: via categories vs isin on Categorical", ta, tb, 'codes', 'isin'))

    broken = df.copy()
    rng = np.random.default_rng(1)
    for c in ['MOSTYPE', 'MAANTHUI', 'PPERSAUT']: broken.loc[rng.choice(len(df), 1000, replace=False), c] = 99
    ta, tb = rounds(lambda: _pandera(broken, contract), lambda: pandas_report(broken, contract), n)
    print(_row("validate(), 3,000 bad cells in 3 columns", ta, tb))

    ratio = statistics.median(main_a) / statistics.median(main_b)
    print(f"\nMAIN ratio pandera/pandas {ratio:.2f}x (target <= 1.5x; anchor P4 1.52x on 1M x 25): "
          f"{'within' if ratio <= 1.5 else 'ABOVE'} target")
    vers = {p: metadata.version(p) for p in ['pandera', 'pandas', 'numpy']}
    print(f"python {sys.version.split()[0]}, {vers}, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

if __name__ == '__main__':
    main()
