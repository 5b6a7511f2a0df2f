"""Paired A/B load: the candidate and a baseline target measured side by side in one run, judged by ratio.

Absolute ceilings cannot tell a slower build on a shared machine (a busy neighbour slows every page more than a
regression does); two runs minutes apart fight the same noise. So every load task runs twice, once against each
target, back to back in a random order, with the same action and the same URL (or Mercurial operation). Both
requests of a task share a pair id; whatever the machine does during that second hits both alike.

What this module holds (plain Python: the harness process never imports Locust):

    baseline_env / baseline_from_env   the baseline Target handed to the Locust processes (HGHARNESS_BASELINE_*)
    analyze                            per action: the candidate/baseline latency ratio (geometric mean of the
                                       per-pair ratios) with lower bounds simultaneous over the actions, from
                                       batch means of consecutive pairs (reports/stats.py), error rates side by
                                       side; the gates of slo.toml's [ab] table

Samples: the candidate's in <run>/samples/locust-*.jsonl, the baseline's in <run>/baseline/samples/, each line
with its "pair" id (reports/samples.py format plus that field).

Crossover. Two servers of one build on one busy machine lean apart, the one started first the slower (44 of 53
A/A runs), for as long as they run: no interval inside the run sees it. When the harness started both servers
(--baseline embedded), the load stage measures half the run, restarts both in the other order and measures the
other half into <run>/crossover/; each action's ratio is then the geometric mean of the halves' (combine), in
which a start-order lean cancels, and the halves' disagreement (the lean) beyond ab.max_lean makes a slower
verdict inconclusive.

Equal work. A page is the same work on both sides; a Mercurial operation need not be. Two servers taking pushes
at the same moment diverge a little (a push lands on one a second before the other; a race retried on one side
only), and a pull then brings 3 changesets from one and none from the other. The traffic stage writes what each
operation moved ([changesets, bytes]); a pair whose sides moved different work is left out of the ratio and
counted ("unequal_work"). Before this rule, the same build on both sides measured 0.57x and 1.30x on pulls, both
"proven", in 30-second runs with two pushers per repository.
"""

from __future__ import annotations

import json
import math
import time
from itertools import pairwise
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.reports.stats import holm, paired_ratio, proportion_greater, t_quantile, thin
from hgharness.stats import quantile

ENV_PREFIX = "HGHARNESS_BASELINE_"
SIDE = "baseline "            # Locust request_type prefix of the baseline's requests ("baseline GET", ...)
BASELINE_DIR = "baseline"     # <run>/baseline/samples: the baseline's raw samples
CROSSOVER_DIR = "crossover"   # <run>/crossover: a crossover run's second half (both servers restarted, baseline first)
AB_KEYS = {"min_effect": float, "prove_effect": bool, "min_effect_ms": float, "confidence": float, "min_pairs": int,
           "error_rate_diff": float, "capacity_ratio": float, "warmup_s": float, "max_cpu_pressure": float,
           "max_lean": float, "crossover_prove_effect": bool, "actions": dict}
DEFAULT_AB = {"min_effect": 0.05, "prove_effect": True, "min_effect_ms": 5, "confidence": 0.95, "min_pairs": 16,
              "error_rate_diff": 0.005, "capacity_ratio": 0.8, "warmup_s": 5, "max_cpu_pressure": 0.97,
              "max_lean": 1.25, "crossover_prove_effect": False}
PSI_CPU = Path("/proc/pressure/cpu")  # Linux pressure stall information: "some ... total=<µs>"
MAX_PAIRS = 3000              # per action, thinned beyond (keeps the bootstrap to a second)
MAX_BATCHES = 10              # batch means per action (split between a crossover's halves)
LONG_PAIR_S = 1.0             # pairs this far apart (median): batches of 2 pairs already span the machine's spells
WORK_SLACK = (0.15, 4096)     # equal work: the same changesets, bytes within 15% + 4 KB (HTTP headers, hashes)


# --- the baseline target in the Locust processes ---------------------------------------------------------------

def baseline_env(baseline) -> dict[str, str]:
    return {ENV_PREFIX + k[len("HGHARNESS_"):]: v for k, v in baseline.to_env().items()}


def baseline_from_env(environ=None):
    """The baseline Target the harness handed down, or None when the run has none."""
    import os

    from hgharness.target import Target

    environ = os.environ if environ is None else environ
    env = {"HGHARNESS_" + k[len(ENV_PREFIX):]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    if not env.get("HGHARNESS_TARGET"):
        return None
    return Target.from_options(env=env)


# --- the machine both targets run on ----------------------------------------------------------------------------

class CpuPressure:
    """How much of a stretch of time some runnable task on this machine waited for a CPU (Linux PSI, "some"), for
    an A/B run whose two targets both run here (loopback).

    Two servers of one build on one busy machine do not share it alike: on a 2-core machine with a CPU spinner
    and other work, the server started first answered raw files 7-10x slower than its twin for a whole run (with
    4 users on 2 workers each; 1.5x with 2 users on 4 workers), its workers getting as much CPU as the twin's, only
    later. Pinning workers to CPUs, sending both sides at once, random pauses, recycling workers and turning
    autogroups off did not remove it; a quieter machine shrinks it. No interval inside the run can see such a lean, so
    when the CPU had a queue for nearly all of the run (ab.max_cpu_pressure), a ratio is not evidence."""

    def __init__(self, local: bool, path: Path = PSI_CPU):
        self.local, self.path = local, path
        self.t0, self.stall0 = time.monotonic(), self._stall_us()

    @classmethod
    def of(cls, target, baseline) -> CpuPressure | None:
        """Measuring from now, for an A/B run (None without a baseline)."""
        if baseline is None:
            return None
        return cls(bool(getattr(target, "is_loopback", False) and getattr(baseline, "is_loopback", False)))

    def _stall_us(self) -> int | None:
        try:
            line = next(x for x in self.path.read_text().splitlines() if x.startswith("some "))
            return int(line.rsplit("total=", 1)[1])
        except (OSError, StopIteration, ValueError, IndexError):
            return None  # not Linux, or a kernel without PSI: nothing measured, nothing judged by it

    def result(self) -> dict:
        """{"local": both targets on this machine, "cpu_pressure": share of the time, or None}"""
        end, took = self._stall_us(), time.monotonic() - self.t0
        share = None
        if end is not None and self.stall0 is not None and took > 0:
            share = round(min(1.0, (end - self.stall0) / 1e6 / took), 3)
        return {"local": self.local, "cpu_pressure": share}


def _overloaded(machine: dict | None, gates: dict) -> str | None:
    """Why the run's latency ratios are not evidence (both targets on a machine whose CPU had a queue nearly all
    the time), or None."""
    if not machine or not machine.get("local") or machine.get("cpu_pressure") is None:
        return None
    share = machine["cpu_pressure"]
    if share <= gates["max_cpu_pressure"]:
        return None
    return (f"both targets run on this machine, whose CPU had tasks waiting for it {share:.0%} of the run (above "
            f"ab.max_cpu_pressure {gates['max_cpu_pressure']:.0%}): two servers of one build lean apart by up to "
            "several times then, so this ratio is no evidence (run it on a quieter machine)")


# --- gates ----------------------------------------------------------------------------------------------------

def ab_gates(slo: dict) -> dict:
    """slo.toml's [ab] table with its defaults; checked (one line naming the key)."""
    table = slo.get("ab", {})
    if not isinstance(table, dict):
        raise HarnessError("malformed SLO file: ab must be a table")
    out = dict(DEFAULT_AB)
    for key, value in table.items():
        kind = AB_KEYS.get(key)
        if kind is None:
            raise HarnessError(f"malformed SLO file: ab.{key} is not a setting (known: {', '.join(AB_KEYS)})")
        if kind is dict:
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise HarnessError("malformed SLO file: ab.actions must hold one table per action")
            for name, t in value.items():
                for k, v in t.items():
                    if k == "prove_effect" and isinstance(v, bool):
                        continue
                    if k not in ("min_effect", "min_pairs") or isinstance(v, bool) or \
                            not isinstance(v, (int, float)) or v < 0 or (k == "min_pairs" and not isinstance(v, int)):
                        raise HarnessError(f"malformed SLO file: ab.actions.{name}.{k} (only min_effect, a "
                                           "number >= 0, min_pairs, a whole number, and prove_effect, true or false)")
            out[key] = value
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise HarnessError(f"malformed SLO file: ab.{key} must be true or false")
            out[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or \
                (kind is int and not isinstance(value, int)):
            raise HarnessError(f"malformed SLO file: ab.{key} must be a {'whole ' if kind is int else ''}"
                               "number >= 0")
        out[key] = value
    if not 0.5 <= out["confidence"] < 1:
        raise HarnessError("malformed SLO file: ab.confidence must be at least 0.5 and below 1")
    return out


# --- the analysis ---------------------------------------------------------------------------------------------

def read_side(folder: Path, source: str = "locust") -> tuple[dict, dict]:
    """(pair id -> {action: (t, ms, work)} for successful samples, action -> [count, failures]) of one side, from
    the sample files `source` wrote (locust: the load stage; traffic: the traffic stage); work is None when the
    writer did not say."""
    paired: dict[str, dict] = {}
    counts: dict[str, list[int]] = {}
    for path in sorted((folder / "samples").glob(f"{source}-*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                action, ms, ok = str(rec["action"]), float(rec["ms"]), rec.get("ok", True)
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a killed writer
            c = counts.setdefault(action, [0, 0])
            c[0] += 1
            if not ok:
                c[1] += 1
            elif rec.get("pair") is not None:
                paired.setdefault(rec["pair"], {})[action] = (rec.get("t") or 0.0, ms, rec.get("work"))
    return paired, counts


def periods(run_dir: Path) -> list[Path]:
    """The run directories of a run's periods: the run itself, and its crossover half when it has one."""
    second = Path(run_dir) / CROSSOVER_DIR
    return [Path(run_dir), second] if second.is_dir() else [Path(run_dir)]


def _paired(run_dir: Path, source: str, warmup_s: float) -> tuple[dict, dict, dict, dict]:
    """One period's (action -> [(t, candidate ms, baseline ms)], action -> pairs of unequal work, candidate
    counts, baseline counts)."""
    cand, cand_counts = read_side(run_dir, source)
    base, base_counts = read_side(run_dir / BASELINE_DIR, source)
    by_action: dict[str, list[tuple[float, float, float]]] = {}
    unequal: dict[str, int] = {}
    # the first seconds warm both servers up (repositories opened per worker): their pairs say nothing of builds
    start = min((v[0] for acts in cand.values() for v in acts.values() if v[0]), default=0.0)
    for pid, actions in cand.items():
        other = base.get(pid)
        if not other:
            continue
        for action, (t, ms, work) in actions.items():
            if action not in other or t < start + warmup_s:
                continue
            if not same_work(work, other[action][2]):
                unequal[action] = unequal.get(action, 0) + 1
                continue
            by_action.setdefault(action, []).append((t, ms, other[action][1]))
    return by_action, unequal, cand_counts, base_counts


def _add_counts(into: dict, counts: dict) -> dict:
    for name, (n, f) in counts.items():
        c = into.setdefault(name, [0, 0])
        c[0] += n
        c[1] += f
    return into


def _estimate(pairs: list, max_batches: int) -> tuple[float, float, int]:
    """(ratio, standard error of its log, degrees of freedom) of one period's pairs (time order)."""
    thinned = thin(pairs, MAX_PAIRS)
    return paired_ratio([p[1] for p in thinned], [p[2] for p in thinned], max_batches=max_batches,
                        min_batch=2 if _median_gap(thinned) >= LONG_PAIR_S else 4)


def combine(estimates: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The crossover's estimate from its periods' (ratio, se of log, df): the geometric mean of the ratios (each
    start order weighs alike, so a lean that follows the start order cancels), its error from the periods' errors,
    its degrees of freedom by Welch-Satterthwaite."""
    if len(estimates) == 1:
        return estimates[0]
    n = len(estimates)
    log_r = sum(math.log(r) for r, _, _ in estimates) / n
    if any(not math.isfinite(se) or df < 1 for _, se, df in estimates):
        return math.exp(log_r), math.inf, 0
    var = sum(se * se for _, se, _ in estimates) / (n * n)
    den = sum((se * se / (n * n)) ** 2 / df for _, se, df in estimates)
    df = int(var * var / den) if den > 0 else sum(d for _, _, d in estimates)
    return math.exp(log_r), math.sqrt(var), max(1, df)


def analyze(run_dir: Path, gates: dict, source: str = "locust", machine: dict | None = None) -> dict:
    """The A/B comparison of a load (or traffic) run directory:
    {"actions": {name: {...}}, "aggregate": {...}, "gates": [...], "machine": ...}; machine: CpuPressure.result()
    of the run (a latency regression on an overloaded machine running both targets is inconclusive).

    A crossover run (a <run>/crossover half, both servers restarted in the other order) is judged on the two
    halves alike: per action the geometric mean of the halves' ratios, and their disagreement (the start-order
    lean, the square root of ratio 1 / ratio 2) beyond ab.max_lean makes a slower verdict inconclusive."""
    run_dir = Path(run_dir)
    halves = [_paired(p, source, gates["warmup_s"]) for p in periods(run_dir)]
    crossover = len(halves) > 1
    cand_counts, base_counts, unequal = {}, {}, {}
    for _by, uneq, cc, bc in halves:
        _add_counts(cand_counts, cc)
        _add_counts(base_counts, bc)
        for k, v in uneq.items():
            unequal[k] = unequal.get(k, 0) + v
    names = sorted(set(cand_counts) | set(base_counts))

    def setting(name: str, key: str):  # ab.actions.NAME overrides the [ab] default
        return gates.get("actions", {}).get(name, {}).get(key, gates[key])

    def enough(name: str) -> bool:  # a crossover needs each half to carry its share
        need = setting(name, "min_pairs")
        counts = [len(h[0].get(name, ())) for h in halves]
        return sum(counts) >= need and (not crossover or min(counts) >= max(2, need // 2))

    judged = [n for n in names if enough(n)]
    overloaded = _overloaded(machine, gates)
    alpha = 1 - gates["confidence"]
    tail = alpha / max(1, len(judged))  # lower bounds simultaneous over the actions (Bonferroni), one-sided
    actions, out_gates = {}, []
    for name in names:
        pairs = [p for h in halves for p in h[0].get(name, ())]
        a = _counts(cand_counts.get(name), base_counts.get(name))
        a["pairs"] = len(pairs)
        if unequal.get(name):
            a["unequal_work"] = unequal[name]  # pairs left out: the two sides moved different work
        effect = setting(name, "min_effect")
        if pairs:
            cs, bs = [p[1] for p in pairs], [p[2] for p in pairs]
            a.update(candidate_p50_ms=round(quantile(cs, 0.5), 2), baseline_p50_ms=round(quantile(bs, 0.5), 2),
                     candidate_p95_ms=round(quantile(cs, 0.95), 2), baseline_p95_ms=round(quantile(bs, 0.95), 2))
        lean = None
        if name in judged:
            estimates = [_estimate(sorted(h[0][name]), MAX_BATCHES // len(halves)) for h in halves]
            ratio, se, df = combine(estimates)
            t = t_quantile(tail, df)
            low, high = ((ratio * math.exp(-t * se), ratio * math.exp(t * se)) if math.isfinite(se * t)
                         else (0.0, math.inf))
            a.update(ratio=round(ratio, 4), ci_low=round(low, 4), ci_high=round(high, 4) if math.isfinite(high)
                     else None)
            if crossover:
                (r1, _, _), (r2, _, _) = estimates
                lean = math.sqrt(r1 / r2)  # > 1: the server started first was the slower
                a.update(halves=[round(r1, 4), round(r2, 4)], start_order_lean=round(lean, 4))
        actions[name] = a
        # a single-order run must prove the slowdown beyond min_effect (the start-order lean is invisible in it);
        # a crossover cancels that lean, and by default asks the lower bound above 1 and the ratio past 1 + min_effect
        prove = gates.get("actions", {}).get(name, {}).get(
            "prove_effect", gates["crossover_prove_effect"] if crossover else gates["prove_effect"])
        gate = _latency_gate(name, a, effect, {**gates, "min_pairs": setting(name, "min_pairs"),
                                               "prove_effect": prove})
        if gate["status"] == "failed" and overloaded:
            gate = {**gate, "status": "skipped", "inconclusive": True,
                    "message": f"{gate['message']}; inconclusive: {overloaded}"}
        if gate["status"] == "failed" and lean is not None and max(lean, 1 / lean) > gates["max_lean"]:
            gate = {**gate, "status": "skipped", "inconclusive": True,
                    "message": f"{gate['message']}; inconclusive: the two halves of the crossover disagree (ratio "
                               f"{a['halves'][0]:.2f}x with the candidate started first, {a['halves'][1]:.2f}x "
                               f"with the baseline first): the start order leaned the servers {max(lean, 1 / lean):.2f}x "
                               f"apart, beyond ab.max_lean {gates['max_lean']:g}, and a lean that large need not "
                               "cancel"}
        out_gates.append(gate)
    err = [n for n in names if actions[n]["candidate_count"] and actions[n]["baseline_count"]]
    agg = _counts(_sum(cand_counts), _sum(base_counts))
    p_err = holm([_p_more_errors(actions[n]) for n in err] + [_p_more_errors(agg)])
    for name, p in zip(err, p_err, strict=False):
        out_gates.append(_error_gate(name, actions[name], p, alpha, gates["error_rate_diff"]))
    out_gates.append(_error_gate("aggregate", agg, p_err[-1], alpha, gates["error_rate_diff"]))
    return {"schema": "hgharness.ab/1", "confidence": gates["confidence"], "min_effect": gates["min_effect"],
            "actions": actions, "aggregate": agg, "gates": out_gates, "machine": machine,
            "crossover": crossover}


def _median_gap(pairs: list) -> float:
    """The median time between consecutive pairs (seconds; pairs in time order). Batch means need batches longer
    than the spells in which one server is starved (seconds): 4 page pairs are a fraction of a second, but a push
    pair takes seconds, and at 4 a batch, 11 pushes gave 2 batches and 1 degree of freedom (a 2 s slower push,
    ratio 9.4x, bounds 0.48-185)."""
    gaps = [b[0] - a[0] for a, b in pairwise(pairs)]
    return quantile(gaps, 0.5) if gaps else 0.0


def same_work(a, b) -> bool:
    """Did the two sides of a pair do the same work? [changesets, bytes] each, or None (a page: always)."""
    if not a or not b:
        return True
    (na, ba), (nb, bb) = a, b
    rel, slack = WORK_SLACK
    return na == nb and abs(ba - bb) <= rel * min(ba, bb) + slack


def _sum(counts: dict) -> list[int]:
    return [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]


def _counts(cand, base) -> dict:
    cc, cf = cand or (0, 0)
    bc, bf = base or (0, 0)
    return {"candidate_count": cc, "candidate_failures": cf, "baseline_count": bc, "baseline_failures": bf,
            "candidate_error_rate": round(cf / cc, 5) if cc else None,
            "baseline_error_rate": round(bf / bc, 5) if bc else None}


def _p_more_errors(a: dict) -> float:
    return proportion_greater(a["baseline_failures"], a["baseline_count"], a["candidate_failures"],
                              a["candidate_count"])


def _latency_gate(name: str, a: dict, effect: float, gates: dict) -> dict:
    limit = round(1 + effect, 4)
    gate = {"gate": f"ab.{name}.p50_ratio", "scope": name, "metric": "p50_ratio", "threshold": limit,
            "observed": a.get("ratio"), "ci": [a.get("ci_low"), a.get("ci_high")] if "ratio" in a else None}
    if "ratio" not in a:
        return {**gate, "status": "skipped",
                "message": f"{name}: {a['pairs']} paired samples, too few to compare (needs {gates['min_pairs']})"}
    r, lo, hi = a["ratio"], a["ci_low"], a["ci_high"]
    where = (f"{name}: median {a['candidate_p50_ms']:.0f} ms vs baseline {a['baseline_p50_ms']:.0f} ms, paired "
             f"ratio {r:.2f}x ({gates['confidence']:.0%} bounds {lo:.2f}-{_x(hi)}, {a['pairs']} pairs)")
    # a regression is proven slower by more than the minimum effect: the lower bound itself above 1 + min_effect
    # (prove_effect, the default), or, with prove_effect off, the lower bound above 1 and the median ratio past the
    # limit; and, when min_effect_ms is set, by more than that many milliseconds
    floor = gates.get("min_effect_ms", 0)
    extra_ms = (r - 1) * (a.get("baseline_p50_ms") or 0)
    if lo > 1 and r > limit and floor and extra_ms <= floor:
        return {**gate, "status": "passed", "message": f"{where}: slower by {r - 1:.0%}, but by {extra_ms:.0f} ms, "
                                                       f"not more than the {floor:g} ms that counts (min_effect_ms)"}
    if lo > 1 and r > limit and gates.get("prove_effect") and lo <= limit:
        # two servers of one build lean apart by a few percent over a whole run (an A/A run in CI: json_log
        # 1.15x [1.01, 1.33]; a pull 1.38x [1.05, 1.82]), a lean no interval inside the run can see: the slowdown
        # must be proven beyond min_effect, not only its point estimate past it
        return {**gate, "status": "skipped", "inconclusive": True,
                "message": f"{where}: inconclusive (proven slower, by {r - 1:.0%} at the median, but not proven "
                           f"slower by more than the {effect:.0%} a run of the same build may lean by)"}
    if lo > 1 and r > limit:
        return {**gate, "status": "failed", "message": f"{where}: slower than the baseline, by more than "
                                                       f"{effect:.0%}" + (" (proven)" if gates.get("prove_effect")
                                                                          else "")}
    if lo > 1:
        return {**gate, "status": "passed", "message": f"{where}: slower by {r - 1:.0%}, within the {effect:.0%} "
                                                       "allowed"}
    if r > limit:
        return {**gate, "status": "skipped", "inconclusive": True,
                "message": f"{where}: inconclusive (slower by {r - 1:.0%}, not proven: more pairs would tell)"}
    return {**gate, "status": "passed", "message": f"{where}: not shown slower than the baseline"}


def _x(v) -> str:
    return "inf" if v is None else f"{v:.2f}"


def _error_gate(name: str, a: dict, p: float, alpha: float, diff_limit: float) -> dict:
    gate = {"gate": f"ab.{name}.error_rate", "scope": name, "metric": "error_rate_diff", "threshold": diff_limit}
    ce, be = a["candidate_error_rate"], a["baseline_error_rate"]
    if ce is None or be is None:
        return {**gate, "status": "skipped", "observed": None, "message": f"{name}: no requests on one side"}
    diff = ce - be
    where = (f"{name}: errors {a['candidate_failures']}/{a['candidate_count']} ({ce:.2%}) vs baseline "
             f"{a['baseline_failures']}/{a['baseline_count']} ({be:.2%})")
    gate["observed"] = round(diff, 5)
    if diff > diff_limit and p < alpha:
        return {**gate, "status": "failed", "p_value": p,
                "message": f"{where}: more errors than the baseline (p = {p:.2g})"}
    if diff <= diff_limit:
        return {**gate, "status": "passed", "p_value": p, "message": f"{where}: not more than the baseline"}
    return {**gate, "status": "skipped", "inconclusive": True, "p_value": p,
            "message": f"{where}: inconclusive (p = {p:.2g}, too few requests to tell)"}


def summary_entry(ab: dict) -> dict:
    """What a stage's summary entry keeps of an A/B result (the report's A/B section reads it)."""
    return {k: ab.get(k) for k in ("confidence", "min_effect", "actions", "aggregate", "baseline_actions", "machine",
                                   "crossover")}


def regressions(ab: dict) -> list[dict]:
    return [g for g in ab["gates"] if g["status"] == "failed"]


def write(run_dir: Path, ab: dict, name: str = "ab.json") -> Path:
    from hgharness.rundir import write_json

    path = Path(run_dir) / name
    write_json(path, ab)
    return path
