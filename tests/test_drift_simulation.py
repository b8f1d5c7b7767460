"""Simulation tests of the drift check (modelbook.data.profile.reference_profile + drift_report), issue #8.

(a) a known shift: the data-set verdict fires and the report names exactly the shifted columns;
(b) no shift, 200 replications: the data-set false-alarm rate is at most 5% + 2 points, and so are the rate of any
    BH flag and the per-column rate of raw p < 0.05 (the p-values are calibrated). The reference is larger than
    `n_quantiles`, so the ECDF-sketch path of the KS test is the one exercised;
(c) Benjamini-Hochberg is applied across columns: raw p-values that would flag but adjusted ones that do not, and
    a case BH flags but Bonferroni would not, both checked against statsmodels' `multipletests(method='fdr_bh')`.

Frames are small and generated in one vectorised draw per replication; the file runs in well under 30 s on one core.
"""
from __future__ import annotations
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from modelbook.data.profile import reference_profile
from modelbook.monitor.drift import drift_report

ALPHA = 0.05
LEVELS = np.array(list("abcde"))


def frame(rng, n: int, num_shift, cat_p) -> pd.DataFrame:
    "n rows: numeric columns x0.. ~ N(shift_j, 1) and categorical columns c0.. with level probabilities cat_p[j]."
    num_shift = np.asarray(num_shift, float)
    x = rng.normal(size=(n, len(num_shift))) + num_shift
    cols = {f"x{j}": x[:, j] for j in range(len(num_shift))}
    u = rng.random((n, len(cat_p)))
    for j, p in enumerate(cat_p):                                # inverse-CDF draw of all rows at once
        cols[f"c{j}"] = LEVELS[np.searchsorted(np.cumsum(p)[:-1], u[:, j], side="right")]
    return pd.DataFrame(cols)


def columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    return [c for c in df if c.startswith("x")], [c for c in df if c.startswith("c")]


# -- (a) a known shift ---------------------------------------------------------------------------------------------
def test_known_shift_fires_verdict_and_names_the_shifted_columns():
    rng = np.random.default_rng(11)
    uniform, skewed = np.full(5, 0.2), np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    shift = np.zeros(12); shift[[1, 4, 7]] = 0.25                 # 0.25 sd in three of twelve numeric columns
    ref = frame(rng, 4000, np.zeros(12), [uniform] * 3)
    cur = frame(rng, 3000, shift, [uniform, uniform, skewed])
    num, cat = columns(ref)
    profile = json.loads(json.dumps(reference_profile(ref, numeric=num, categorical=cat)))   # stored as JSON
    assert profile["numeric"]["x0"]["cdf_max_error"] > 0          # 4000 distinct values > 1000 knots: the sketch path
    report = drift_report(profile, cur)
    truth = {"x1", "x4", "x7", "c2"}
    assert set(report.drifted) == truth
    assert report.verdict and report.share == pytest.approx(4 / 15)
    top = report.table().head(4)
    assert set(top.column) == truth and top.drifted.all()         # the columns that drive the verdict come first
    t = report.table().set_index("column")
    assert np.allclose(t.loc[["x1", "x4", "x7"], "mean_shift_sd"], 0.25, atol=0.06)
    assert report.to_dict()["drifted"] == report.drifted


def test_report_p_values_match_scipy_for_exact_sketches():
    "With every reference value in the sketch, KS and chi-square p-values are scipy's (independent computation)."
    rng = np.random.default_rng(3)
    ref = frame(rng, 400, [0, 0], [np.full(5, 0.2)])
    cur = frame(rng, 300, [0.2, 0], [np.array([0.3, 0.2, 0.2, 0.2, 0.1])])
    t = drift_report(reference_profile(ref, numeric=["x0", "x1"], categorical=["c0"]), cur).table().set_index("column")
    for c in ["x0", "x1"]:
        assert t.loc[c, "p_value"] == pytest.approx(stats.ks_2samp(ref[c], cur[c], method="asymp").pvalue, rel=1e-9,
                                                    abs=1e-12)
    counts = pd.crosstab(np.r_[np.zeros(400), np.ones(300)], np.r_[ref.c0, cur.c0])
    assert t.loc["c0", "p_value"] == pytest.approx(stats.chi2_contingency(counts, correction=False).pvalue, rel=1e-9)


# -- (b) false alarms ----------------------------------------------------------------------------------------------
def test_false_alarm_rate_over_200_identical_replications():
    rng = np.random.default_rng(2024)
    reps, n, n_num, cat_p = 200, 3000, 10, [np.full(5, 0.2), np.array([0.4, 0.3, 0.15, 0.1, 0.05])]
    verdicts, any_flag, raw = [], [], []
    for _ in range(reps):
        ref, cur = frame(rng, n, np.zeros(n_num), cat_p), frame(rng, n, np.zeros(n_num), cat_p)
        num, cat = columns(ref)
        report = drift_report(reference_profile(ref, numeric=num, categorical=cat, n_quantiles=100), cur)
        verdicts.append(report.verdict); any_flag.append(bool(report.drifted))
        raw.append(report.table().p_value.to_numpy() < ALPHA)
    raw = np.concatenate(raw)
    print(f"verdict {np.mean(verdicts):.3f}, any BH flag {np.mean(any_flag):.3f}, raw per-column {raw.mean():.3f}")
    assert np.mean(verdicts) <= ALPHA + 0.02                       # the data-set false-alarm rate
    assert np.mean(any_flag) <= ALPHA + 0.02                       # BH under no drift: P(any flag) <= alpha
    assert raw.mean() <= ALPHA + 0.02                              # per-column p-values not anti-conservative
    assert raw.mean() >= 0.01                                      # ... and the test is not dead either


# -- (c) Benjamini-Hochberg ----------------------------------------------------------------------------------------
def counts_frame(ref_counts: dict[str, list[int]],
                 cur_counts: dict[str, list[int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    "Reference and current frames whose categorical columns have exactly the given level counts."
    build = lambda d: pd.DataFrame({c: np.repeat(LEVELS[: len(k)], k) for c, k in d.items()})
    return build(ref_counts), build(cur_counts)


def independent_check(ref, cur, report):
    "Raw chi-square p-values from scipy and BH from statsmodels, in the report's row order."
    t = report.table()
    p = np.array([stats.chi2_contingency(np.vstack([ref[c].value_counts().sort_index(),
                                                    cur[c].value_counts().sort_index()]),
                                         correction=False).pvalue for c in t.column])
    reject, p_bh, _, _ = multipletests(p, alpha=ALPHA, method="fdr_bh")
    np.testing.assert_allclose(t.p_value, p, rtol=1e-9)
    np.testing.assert_allclose(t.p_adjusted, p_bh, rtol=1e-9)
    np.testing.assert_array_equal(t.drifted, reject)
    return t, p


def test_bh_raw_p_would_flag_but_adjusted_does_not():
    ref_c = {f"c{j:02d}": [500, 500] for j in range(20)}
    cur_c = {**{f"c{j:02d}": [500, 500] for j in range(1, 20)}, "c00": [450, 550]}
    ref, cur = counts_frame(ref_c, cur_c)
    report = drift_report(reference_profile(ref, numeric=[], categorical=list(ref)), cur)
    t, p = independent_check(ref, cur, report)
    assert t.set_index("column").loc["c00", "p_value"] < ALPHA    # unadjusted, c00 would be flagged ...
    assert report.drifted == [] and not report.verdict            # ... but not after BH over 20 columns


def test_bh_flags_where_bonferroni_would_not():
    ref_c = {f"c{j}": [500, 500] for j in range(10)}
    cur_c = {f"c{j}": [500 - d, 500 + d] for j, d in enumerate([56, 57, 58, 60] + [0] * 6)}
    ref, cur = counts_frame(ref_c, cur_c)
    report = drift_report(reference_profile(ref, numeric=[], categorical=list(ref)), cur)
    t, p = independent_check(ref, cur, report)
    assert not np.any(p * len(p) < ALPHA)                          # Bonferroni (and Holm) would flag nothing
    assert sorted(report.drifted) == ["c0", "c1", "c2", "c3"]      # BH flags the four shifted columns


# -- (d) rows that come in clusters (hours of a day) ---------------------------------------------------------------
def days(rng, n_days: int, shift: float = 0.0) -> pd.DataFrame:
    """Hourly rows: a numeric column = day level + small hourly noise (intraclass correlation ~0.9) and a weather-like
    state fixed for most hours of a day."""
    x = np.repeat(rng.normal(shift, 1, n_days), 24) + rng.normal(0, 0.3, 24 * n_days)
    state = np.where(rng.random(24 * n_days) < 0.8, np.repeat(rng.choice(3, n_days, p=[0.6, 0.3, 0.1]), 24),
                     rng.choice(3, 24 * n_days))
    return pd.DataFrame({"x": x, "state": LEVELS[state]})


def test_clustered_rows_false_alarm_rate_with_design_effect():
    """200 replications of 60 reference days vs 30 current days, same distribution: counting hours as independent rows
    alarms almost always; with the design effect the rates hold."""
    rng = np.random.default_rng(31)
    flagged = {1: [], 24: []}
    raw = []
    for _ in range(200):
        ref, cur = days(rng, 60), days(rng, 30)
        for block in flagged:
            report = drift_report(reference_profile(ref, numeric=["x"], categorical=["state"], block=block), cur)
            flagged[block].append(bool(report.drifted))
            if block == 24: raw.append(report.table().p_value.to_numpy() < ALPHA)
    raw = np.concatenate(raw)
    print(f"any flag: independent rows {np.mean(flagged[1]):.3f}, design effect {np.mean(flagged[24]):.3f}; raw "
          f"per-column {raw.mean():.3f}")
    assert np.mean(flagged[1]) > 0.5                               # the problem is real: the iid test cries wolf
    assert np.mean(flagged[24]) <= ALPHA + 0.02  # any BH flag (and so the verdict) with the design effect
    assert 0.01 <= raw.mean() <= ALPHA + 0.02                      # per-column p-values calibrated, test not dead


def test_clustered_rows_known_shift_fires():
    rng = np.random.default_rng(32)
    profile = json.loads(json.dumps(reference_profile(days(rng, 60), numeric=["x"], categorical=["state"], block=24)))
    assert 10 < profile["numeric"]["x"]["deff"] <= 24 and 5 < profile["categorical"]["state"]["deff"] <= 24
    hits = [drift_report(profile, days(rng, 30, shift=1.0)).drifted == ["x"] for _ in range(20)]
    assert np.mean(hits) >= 0.9                                    # a shift of one day-to-day sd is found
