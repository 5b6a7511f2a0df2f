"""Compare the latency of two runs, action by action, without crying wolf.

A run keeps its raw latency samples in <run_dir>/samples/ (see reports/samples.py). For every action present
in both runs, `compare_runs` decides:

  regression     the current run is slower, and we are confident the slowdown is larger than the threshold:
                   1. at least `min_samples` successful samples on each side;
                   2. Mann-Whitney U says the current samples tend to be larger: one-sided p < alpha after a
                      Holm-Bonferroni adjustment across all the actions compared (many actions, one alarm rate);
                   3. the lower bound of the interval for ratio = Q(cur)/Q(base) (Q the median by default) is above
                      1 + threshold. The interval is log-normal with a moving-block bootstrap standard error
                      (keeps the correlation of consecutive samples) at a Bonferroni level of alpha/m;
                   4. that lower bound is also at least `min_abs_ms` slower in absolute terms (a 20% change of a
                      0.4 ms request is noise, not a regression).
  more failures  the failure rate went up by at least `min_fail_increase` (absolute) and a one-sided
                 two-proportion test, Holm-adjusted, says so.
  faster         the mirror image of a regression (not a failure).
  possibly slower  the point estimate is beyond the threshold but the evidence is not strong enough: shown, not
                 failed. Run longer (more samples) to decide.
  no change, too few samples, only in base, only in current.

Several baseline runs (BASE may be a list): their samples are pooled, and the spread of the action's quantile
across them (the run-to-run noise of the setup: machine load, caches, a neighbour's job) is added to the
interval's standard error. No statistic computed inside one run can see that noise; with one baseline run the
threshold is the only allowance for it, so set the threshold above the same-build differences of your setup
(compare two baseline runs to see them), or give several baseline runs.

Significance alone is not used: with thousands of samples a 1% drift between two runs of the same build is
"significant" (the sample-level test ignores run-to-run variance). The threshold is the smallest change worth a
red build; the interval makes sure the change is beyond it, not just beyond zero.
Exit status of the command: 1 when any action has a regression or more failures, else 0; 2 if nothing could be
compared.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.reports import stats
from hgharness.reports.samples import Samples, read_samples

SCHEMA = "hgharness.compare/1"
FAILING = ("regression", "more failures")


@dataclass
class Settings:
    threshold: float = 0.10  # relative: flag only slowdowns confidently larger than 10%
    min_abs_ms: float = 1.0  # absolute: ... and larger than 1 ms
    alpha: float = 0.01  # family-wise error rate across the actions compared
    min_samples: int = 30  # per side, successful samples
    quantile: float = 0.5  # the compared quantile (0.5: median)
    min_fail_increase: float = 0.01  # failure rate must rise by at least 1 percentage point
    resamples: int = 300  # bootstrap resamples
    max_samples: int = 3000  # thin larger series (every k-th sample, order kept) to bound the bootstrap cost
    seed: int = 0  # the bootstrap is seeded: the same runs always give the same verdict


def _summary(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _dist(xs_sorted: list[float]) -> dict:
    return {f"p{int(q * 100)}": stats.quantile(xs_sorted, q, presorted=True) for q in (0.05, 0.25, 0.5, 0.75, 0.95)}


def _pooled(runs) -> Samples:
    """Several baseline runs as one: each run's samples stay together, in time order."""
    if len(runs) == 1:
        return runs[0]
    out = Samples()
    for smp in runs:
        for action, rows in smp.ok.items():
            out.ok.setdefault(action, []).extend(rows)
        for action, n in smp.failed.items():
            out.failed[action] = out.failed.get(action, 0) + n
        out.bad_lines += smp.bad_lines
    return out


def _run_to_run_sd(runs, action: str, s: Settings) -> float | None:
    """Spread (sd of the log quantile) of an action across the baseline runs: the noise of the setup itself,
    which no amount of samples within one run can show. None with fewer than two usable baseline runs."""
    logs = []
    for smp in runs:
        xs = smp.latencies(action)
        if len(xs) >= s.min_samples:
            q = stats.quantile(xs, s.quantile)
            if q > 0:
                logs.append(math.log(q))
    if len(logs) < 2:
        return None
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def compare_runs(base_dirs, cur_dir, settings: Settings | None = None) -> dict:
    """Compare run cur_dir against one baseline run directory, or a list of them (see the module doc)."""
    s = settings or Settings()
    if not 0 < s.quantile < 1:
        raise HarnessError("--quantile must be between 0 and 1")
    base_dirs = [Path(d) for d in (base_dirs if isinstance(base_dirs, (list, tuple)) else [base_dirs])]
    cur_dir = Path(cur_dir)
    for d, what in [(d, "baseline") for d in base_dirs] + [(cur_dir, "current")]:
        if not d.is_dir():
            raise HarnessError(f"{what} run directory {d} does not exist")
    base_runs = [read_samples(d) for d in base_dirs]
    cur = read_samples(cur_dir)
    for smp, d in list(zip(base_runs, base_dirs, strict=True)) + [(cur, cur_dir)]:
        if not smp:
            raise HarnessError(f"no latency samples in {d / 'samples'}: the run recorded none to compare "
                               "(see reports/samples.py)")
    base = _pooled(base_runs)
    rows = []
    for action in sorted(set(base.actions()) | set(cur.actions())):
        xb, xc = stats.thin(base.latencies(action), s.max_samples), stats.thin(cur.latencies(action), s.max_samples)
        (nb, fb), (nc, fc) = base.count(action), cur.count(action)
        row = {"action": action, "n_base": nb, "n_cur": nc, "failures_base": fb, "failures_cur": fc,
               "base": _dist(sorted(xb)) if xb else None, "cur": _dist(sorted(xc)) if xc else None,
               "q_base": None, "q_cur": None, "ratio": None, "low": None, "high": None, "delta_ms": None,
               "p_slower": None, "p_faster": None, "p_failures": None, "prob_slower": None,
               "run_to_run_sd": None, "verdict": None, "reason": ""}
        if xb and xc:
            row["q_base"], row["q_cur"] = stats.quantile(xb, s.quantile), stats.quantile(xc, s.quantile)
            row["delta_ms"] = row["q_cur"] - row["q_base"]
            if row["q_base"] > 0:
                row["ratio"] = row["q_cur"] / row["q_base"]
        if nb + fb and nc + fc:
            row["p_failures"] = stats.proportion_greater(fb, nb + fb, fc, nc + fc)
        if not (nb + fb):
            row["verdict"], row["reason"] = "only in current", "new action"
        elif not (nc + fc):
            row["verdict"], row["reason"] = "only in base", "the current run did not exercise it"
        elif min(len(xb), len(xc)) < s.min_samples:
            row["verdict"] = "too few samples"
            row["reason"] = f"needs {s.min_samples} successful samples a side, has {len(xb)} and {len(xc)}"
        else:
            mw = stats.mann_whitney(xb, xc)
            row.update(p_slower=mw["p_greater"], p_faster=mw["p_less"], prob_slower=mw["prob_greater"])
            se = stats.block_bootstrap_log_ratio(xb, xc, s.quantile, s.resamples, s.seed)
            sd = _run_to_run_sd(base_runs, action, s)
            if sd is not None:
                # the current run has its own run effect, the baseline mean a k-th of one
                row["run_to_run_sd"] = sd
                se = math.sqrt(se * se + sd * sd * (1 + 1 / len(base_runs)))
            row["_se"] = se
        rows.append(row)
    _decide(rows, s)
    regressions = [r["action"] for r in rows if r["verdict"] in FAILING]
    tested = [r for r in rows if r["p_slower"] is not None]
    warnings = []
    sb, sc = _summary(base_dirs[0]), _summary(cur_dir)
    tb, tc = sb.get("target") or {}, sc.get("target") or {}
    both_embedded = tb.get("embedded") and tc.get("embedded")  # a fresh port each run, the same kind of target
    if tb.get("url") and tc.get("url") and not both_embedded and \
            (tb.get("url"), tb.get("site")) != (tc.get("url"), tc.get("site")):
        warnings.append(f"the runs are against different targets: {tb.get('url')} and {tc.get('url')}")
    for smp, d in list(zip(base_runs, base_dirs, strict=True)) + [(cur, cur_dir)]:
        if smp.bad_lines:
            warnings.append(f"{smp.bad_lines} unreadable sample line(s) skipped in {d}")
    noisy = [r["action"] for r in tested if (r["run_to_run_sd"] or 0) > math.log(1 + s.threshold)]
    if noisy:
        warnings.append(f"the baseline runs differ among themselves by more than the threshold for "
                        f"{', '.join(noisy)}: only changes well beyond that noise can be flagged")
    if not tested and not any(r["p_failures"] is not None for r in rows):
        raise HarnessError("nothing to compare: no action has samples in both runs")
    return {
        "schema": SCHEMA,
        "base": {"dir": ", ".join(str(d) for d in base_dirs), "runs": len(base_dirs),
                 "run_id": ", ".join(_summary(d).get("run_id", d.name) for d in base_dirs), "target": tb.get("url")},
        "cur": {"dir": str(cur_dir), "run_id": sc.get("run_id", cur_dir.name), "target": tc.get("url")},
        "settings": asdict(s), "compared": len(tested), "rows": rows, "regressions": regressions,
        "verdict": "regression" if regressions else ("no regression" if tested else "nothing compared"),
        "exit_code": 1 if regressions else 0, "warnings": warnings,
    }


def _decide(rows: list[dict], s: Settings) -> None:
    tested = [r for r in rows if r["p_slower"] is not None]
    m = max(1, len(tested))
    slower = stats.holm([r["p_slower"] for r in tested])
    faster = stats.holm([r["p_faster"] for r in tested])
    z = stats.z_for(s.alpha / m)  # one-sided Bonferroni bound for each action's interval
    for r, ps, pf in zip(tested, slower, faster, strict=True):
        se = r.pop("_se")
        r["p_slower_adj"], r["p_faster_adj"] = ps, pf
        if r["ratio"] is None or not math.isfinite(se):
            r["verdict"], r["reason"] = "too few samples", "a quantile of zero or an undefined interval"
            continue
        log_r = math.log(r["ratio"])
        r["low"], r["high"] = math.exp(log_r - z * se), math.exp(log_r + z * se)
        floor_ms = (r["low"] - 1) * r["q_base"]
        gain_ms = (1 - r["high"]) * r["q_base"]
        if ps < s.alpha and r["low"] > 1 + s.threshold and floor_ms >= s.min_abs_ms:
            r["verdict"] = "regression"
            r["reason"] = (f"slower by at least {(r['low'] - 1) * 100:.0f}% ({floor_ms:.1f} ms) with "
                           f"{(1 - s.alpha) * 100:g}% family-wise confidence")
        elif pf < s.alpha and r["high"] < 1 / (1 + s.threshold) and gain_ms >= s.min_abs_ms:
            r["verdict"], r["reason"] = "faster", f"faster by at least {(1 - r['high']) * 100:.0f}%"
        elif r["ratio"] > 1 + s.threshold and r["delta_ms"] >= s.min_abs_ms:
            r["verdict"] = "possibly slower"
            r["reason"] = "beyond the threshold, but not confidently: collect more samples to decide"
        else:
            r["verdict"] = "no change"
            r["reason"] = f"within the threshold ({s.threshold * 100:g}%, {s.min_abs_ms:g} ms) or noise"
    with_failures = [r for r in rows if r["p_failures"] is not None]
    adjusted = stats.holm([r["p_failures"] for r in with_failures])
    for r, p in zip(with_failures, adjusted, strict=True):
        r["p_failures_adj"] = p
        rate_b = r["failures_base"] / max(1, r["n_base"] + r["failures_base"])
        rate_c = r["failures_cur"] / max(1, r["n_cur"] + r["failures_cur"])
        r["failure_rate_base"], r["failure_rate_cur"] = rate_b, rate_c
        if p < s.alpha and rate_c - rate_b >= s.min_fail_increase:
            r["reason"] = (f"failure rate {rate_b * 100:.1f}% -> {rate_c * 100:.1f}%"
                           + (f"; latency: {r['verdict']}" if r["verdict"] else ""))
            r["verdict"] = "more failures"
    for r in rows:
        r.pop("_se", None)


def text_table(result: dict) -> str:
    q = result["settings"]["quantile"]
    qn = f"p{q * 100:g}"
    head = f"{'action':<28} {'n base/cur':>11} {qn + ' base':>10} {qn + ' cur':>9} {'change':>8} " \
           f"{'interval':>15} {'p adj':>8}  verdict"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        def ms(v):
            return f"{v:.1f}" if v is not None else "-"
        change = f"{(r['ratio'] - 1) * 100:+.1f}%" if r["ratio"] is not None else "-"
        interval = f"[{r['low']:.2f}, {r['high']:.2f}]" if r["low"] is not None else "-"
        p = f"{r['p_slower_adj']:.2g}" if r.get("p_slower_adj") is not None else "-"
        name = r["action"] if len(r["action"]) <= 28 else r["action"][:27] + "\u2026"
        lines.append(f"{name:<28} {str(r['n_base']) + '/' + str(r['n_cur']):>11} {ms(r['q_base']):>10} "
                     f"{ms(r['q_cur']):>9} {change:>8} {interval:>15} {p:>8}  {r['verdict']}")
    s = result["settings"]
    lines.append(f"threshold {s['threshold'] * 100:g}% and {s['min_abs_ms']:g} ms, family-wise alpha {s['alpha']:g}, "
                 f"{result['compared']} action(s) compared: {result['verdict'].upper()}")
    lines += [f"WARNING: {w}" for w in result["warnings"]]
    return "\n".join(lines)
