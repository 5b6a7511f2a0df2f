"""SLO gates (load/slo.toml) evaluated on a load run's result: one verdict per gate, JSON and JUnit.

A gate is (scope, metric, threshold): scope is an action name or "aggregate"; metrics are p50_ms, p95_ms, p99_ms
(latency of successful requests, at most), error_rate (failures / requests, at most) and, for the aggregate,
rate_ratio (achieved / target request rate, at least: GitLab Performance Tool's "0.8x the target rate"), and,
per action, p50_vs_site (its median latency over the median of every action's median, at most): a page many
times slower than the rest of the same site in the same run, which machine load cannot explain away (it slows
every page alike), judged only past RELATIVE_FLOOR_MS.
Percentiles come from every recorded latency (exact), counts and failures from Locust's statistics.
A percentile is gated only when there are enough samples for it to mean something (min_samples); otherwise
the gate is reported as skipped with the reason, never silently dropped.
"""

from __future__ import annotations

from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.load import read_toml
from hgharness.stats import quantile

DEFAULT_SLO = Path(__file__).with_name("slo.toml")
LATENCY = ("p50_ms", "p95_ms", "p99_ms")
METRICS = LATENCY + ("error_rate", "rate_ratio", "p50_vs_site")
RELATIVE_FLOOR_MS = 500  # a page under half a second is never judged slow relative to the others
QUANTILE = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
CAPACITY_DEFAULTS = {"p95_ms": 1000, "error_rate": 0.01, "min_gain": 0.05}


def summarize(latencies: list[float], count: int, elapsed_s: float) -> dict:
    """Latency figures of one action (successful requests) plus its request rate."""
    out = {"samples": len(latencies), "rps": round(count / elapsed_s, 3) if elapsed_s > 0 else None}
    if latencies:
        xs = sorted(latencies)
        out.update({m: round(quantile(xs, q, presorted=True), 2) for m, q in QUANTILE.items()})
        out.update(mean_ms=round(sum(xs) / len(xs), 2), max_ms=round(xs[-1], 2))
    return out


def read_gates(path: str | Path | None = None) -> dict:
    path = Path(path or DEFAULT_SLO)
    data = read_toml(path, "SLO")
    unknown = set(data) - {"min_samples", "defaults", "aggregate", "actions", "ab", "capacity"}
    if unknown:
        raise HarnessError(f"malformed SLO file {path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                           "(known: min_samples, defaults, aggregate, actions, ab, capacity)")
    for key, value in (data.get("capacity") or {}).items():
        if key not in CAPACITY_DEFAULTS:
            raise HarnessError(f"malformed SLO file {path}: capacity.{key} is not a setting "
                               f"(known: {', '.join(CAPACITY_DEFAULTS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise HarnessError(f"malformed SLO file {path}: capacity.{key} must be a number >= 0")
    from hgharness.load.ab import ab_gates

    try:
        ab_gates(data)
    except HarnessError as e:
        raise HarnessError(str(e).replace("malformed SLO file:", f"malformed SLO file {path}:")) from None
    for section in ("defaults", "aggregate"):
        _check(path, section, data.get(section, {}))
    for name, table in data.get("actions", {}).items():
        _check(path, f"actions.{name}", table)
    for metric, n in data.get("min_samples", {}).items():
        if metric not in LATENCY or not isinstance(n, int) or n < 1:
            raise HarnessError(f"malformed SLO file {path}: min_samples.{metric} must be a latency metric "
                               "with a whole number >= 1")
    return data


def _check(path, where: str, table) -> None:
    if not isinstance(table, dict):
        raise HarnessError(f"malformed SLO file {path}: {where} must be a table")
    for metric, value in table.items():
        if metric not in METRICS:
            raise HarnessError(f"malformed SLO file {path}: {where}.{metric} is not a metric "
                               f"(known: {', '.join(METRICS)})")
        if value is False:
            continue  # switched off
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise HarnessError(f"malformed SLO file {path}: {where}.{metric} must be a number >= 0 or false")
        if metric == "rate_ratio" and where != "aggregate":
            raise HarnessError(f"malformed SLO file {path}: rate_ratio is an aggregate gate, not {where}'s")
        if metric == "p50_vs_site" and where == "aggregate":
            raise HarnessError(f"malformed SLO file {path}: p50_vs_site compares one action with the site; "
                               "the aggregate has none")


def evaluate(result: dict, gates: dict) -> list[dict]:
    """[{gate, scope, metric, status: passed|failed|skipped, observed, threshold, message}] for a load result."""
    min_samples = {"p50_ms": 5, "p95_ms": 20, "p99_ms": 100}
    min_samples.update(gates.get("min_samples", {}))
    defaults = gates.get("defaults", {})
    tables = {}
    for name in result["actions"]:
        tables[name] = dict(defaults)
        tables[name].update(gates.get("actions", {}).get(name, {}))
    site = _site_p50(result["actions"], tables, min_samples["p50_ms"])
    out = []
    for name in sorted(result["actions"]):
        out += _scope(name, result["actions"][name], tables[name], min_samples)
        if tables[name].get("p50_vs_site", False) is not False:
            out.append(_relative_gate(name, result["actions"][name], tables[name]["p50_vs_site"], site,
                                      min_samples["p50_ms"]))
    out += _scope("aggregate", result["aggregate"], gates.get("aggregate", {}), min_samples)
    if gates.get("aggregate", {}).get("rate_ratio", False) is not False:
        out.append(_rate_gate(result, gates["aggregate"]["rate_ratio"]))
    return out


def evaluate_actions(actions: dict, gates: dict) -> list[dict]:
    """Only the per-action latency and error gates, for stages that time actions outside Locust (the Mercurial
    operations of the traffic stage): the same tables, the same verdicts."""
    min_samples = {"p50_ms": 5, "p95_ms": 20, "p99_ms": 100}
    min_samples.update(gates.get("min_samples", {}))
    out = []
    for name in sorted(actions):
        table = {**gates.get("defaults", {}), **gates.get("actions", {}).get(name, {})}
        out += _scope(name, actions[name], table, min_samples)
    return out


def _scope(scope: str, stats: dict, table: dict, min_samples: dict) -> list[dict]:
    out = []
    for metric in LATENCY + ("error_rate",):
        threshold = table.get(metric, False)
        if threshold is False:
            continue
        gate = {"gate": f"{scope}.{metric}", "scope": scope, "metric": metric, "threshold": threshold}
        if metric == "error_rate":
            count = stats.get("count", 0)
            if not count:
                out.append({**gate, "status": "skipped", "observed": None, "message": "no requests"})
                continue
            observed = stats.get("failures", 0) / count
            ok = observed <= threshold
            msg = (f"{scope}: error rate {observed:.2%} ({stats.get('failures', 0)}/{count}) "
                   f"{'<=' if ok else '>'} {threshold:.2%}")
            out.append({**gate, "status": "passed" if ok else "failed", "observed": round(observed, 5),
                        "message": msg})
            continue
        n = stats.get("samples", 0)
        if n < min_samples[metric] or metric not in stats:
            out.append({**gate, "status": "skipped", "observed": stats.get(metric),
                        "message": _too_few(scope, n, metric, min_samples[metric])})
            continue
        observed = stats[metric]
        ok = observed <= threshold
        out.append({**gate, "status": "passed" if ok else "failed", "observed": observed,
                    "message": f"{scope}: {metric[:3]} {observed:.0f} ms {'<=' if ok else '>'} {threshold} ms"})
    return out


def _too_few(scope: str, n: int, metric: str, needed: int) -> str:
    return f"{scope}: {n} successful requests, too few to judge {metric[:3]} (needs {needed})"


def _site_p50(actions: dict, tables: dict, min_samples: int) -> float | None:
    """The median of the p50s of the actions that have a p50_vs_site gate and enough samples (at least 3)."""
    p50s = sorted(stats["p50_ms"] for name, stats in actions.items()
                  if tables[name].get("p50_vs_site", False) is not False and "p50_ms" in stats
                  and stats.get("samples", 0) >= min_samples)
    return quantile(p50s, 0.5, presorted=True) if len(p50s) >= 3 else None


def _relative_gate(scope: str, stats: dict, threshold: float, site: float | None, min_samples: int) -> dict:
    gate = {"gate": f"{scope}.p50_vs_site", "scope": scope, "metric": "p50_vs_site", "threshold": threshold}
    n = stats.get("samples", 0)
    if n < min_samples or "p50_ms" not in stats:
        return {**gate, "status": "skipped", "observed": None, "message": _too_few(scope, n, "p50_ms", min_samples)}
    if not site:
        return {**gate, "status": "skipped", "observed": None,
                "message": f"{scope}: fewer than 3 actions with enough samples to compare it with"}
    ratio = stats["p50_ms"] / site
    ok = ratio <= threshold or stats["p50_ms"] < RELATIVE_FLOOR_MS
    return {**gate, "status": "passed" if ok else "failed", "observed": round(ratio, 2),
            "message": f"{scope}: p50 {stats['p50_ms']:.0f} ms is {ratio:.1f}x the site's median page "
                       f"({site:.0f} ms) {'<=' if ratio <= threshold else '>'} {threshold}x"
                       + (f" (under {RELATIVE_FLOOR_MS} ms: not judged slow)" if ratio > threshold and ok else "")}


def _rate_gate(result: dict, threshold: float) -> dict:
    gate = {"gate": "aggregate.rate_ratio", "scope": "aggregate", "metric": "rate_ratio", "threshold": threshold}
    target, achieved = result.get("target_web_requests"), result.get("web_requests", 0)
    if not target:
        return {**gate, "status": "skipped", "observed": None,
                "message": "no target rate: the HTTP users are unpaced or absent"}
    ratio = achieved / target
    elapsed = result.get("elapsed_s") or 0
    rates = (f" ({achieved / elapsed:.1f} of {target / elapsed:.1f} req/s)" if elapsed > 0 else "")
    ok = ratio >= threshold
    return {**gate, "status": "passed" if ok else "failed", "observed": round(ratio, 3),
            "message": f"achieved {ratio:.2f}x the target request rate{rates} {'>=' if ok else '<'} {threshold}x"}


def capacity_slo(gates: dict) -> dict:
    """The capacity search's limits: slo.toml's [capacity] over the defaults."""
    return {**CAPACITY_DEFAULTS, **(gates.get("capacity") or {})}


def capacity_gates(cand: dict, base: dict | None, gates: dict) -> list[dict]:
    """The capacity search's verdicts: some level held the SLO; with a baseline, capacity_ratio."""
    from hgharness.load.ab import ab_gates

    out = []
    held = cand.get("capacity_rps") or 0
    gate = {"gate": "capacity.held_slo", "scope": "capacity", "metric": "capacity_rps", "threshold": None,
            "observed": held}
    if held > 0:
        out.append({**gate, "status": "passed", "message": f"capacity {held:.1f} req/s at {cand['capacity_users']} "
                    f"users within the SLO (knee at {cand.get('knee_users') or '-'} users; {cand.get('stopped')})"})
    else:
        out.append({**gate, "status": "failed", "message": f"no level held the capacity SLO ({cand.get('stopped')})"})
    if base is not None:
        limit = ab_gates(gates)["capacity_ratio"]
        base_rps = base.get("capacity_rps") or 0
        g = {"gate": "capacity.capacity_ratio", "scope": "capacity", "metric": "capacity_ratio", "threshold": limit}
        if base_rps <= 0:
            out.append({**g, "status": "skipped", "observed": None,
                        "message": f"the baseline held the SLO at no level ({base.get('stopped')}): nothing to "
                                   "compare with"})
        else:
            ratio = held / base_rps
            ok = ratio >= limit
            out.append({**g, "status": "passed" if ok else "failed", "observed": round(ratio, 3),
                        "message": f"capacity {held:.1f} req/s vs baseline {base_rps:.1f} req/s: {ratio:.2f}x "
                                   f"{'>=' if ok else '<'} {limit}x"})
    return out


def capacity_lines(cand: dict, base: dict | None) -> list[str]:
    lines = [f"capacity {lv['users']:>4} users: {lv['rps']:7.1f} req/s, p95 {lv['p95_ms'] or 0:6.0f} ms, errors "
             f"{lv['error_rate'] or 0:.2%}{'' if lv['held_slo'] else '  (SLO broken)'}" for lv in cand["levels"]]
    lines.append(f"capacity: {cand.get('capacity_rps') or 0:.1f} req/s within the SLO, at "
                 f"{cand.get('capacity_users')} users; knee at {cand.get('knee_users') or '-'} users; "
                 f"{cand.get('stopped')}")
    if base is not None:
        lines.append(f"baseline capacity: {base.get('capacity_rps') or 0:.1f} req/s at {base.get('capacity_users')} "
                     f"users; knee at {base.get('knee_users') or '-'} users")
    return lines


def write_results(run_dir: Path, gates: list[dict], result: dict) -> tuple[Path, Path]:
    """run_dir/slo.json and run_dir/junit-load.xml (one testcase per gate)."""
    from hgharness.rundir import write_json, write_junit_suite

    slo_json = run_dir / "slo.json"
    write_json(slo_json, {"schema": "hgharness.slo/1", "mix": result.get("mix"), "shape": result.get("shape"),
                          "gates": gates, "passed": not any(g["status"] == "failed" for g in gates)})
    cases = [{"name": g["gate"], "classname": "load.slo", "status": g["status"], "message": g["message"]}
             for g in gates]
    junit = write_junit_suite(run_dir / "junit-load.xml", "load", cases)
    return slo_json, junit
