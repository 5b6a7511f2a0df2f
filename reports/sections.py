"""What each section of a run's page shows, as plain data; templates/sections.html draws it.

One function per section, named as its macro. Each returns the section's data, or None when the run left
nothing for it (the section is then left out).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from markupsafe import Markup

from hgharness.reports import svg
from hgharness.reports.cells import Lines, Links, Pre, Table, num, status
from hgharness.reports.rundata import IMAGE_TYPES, Report
from hgharness.stats import quantile

MAX_ROWS = 500  # rows past this are counted, not shown
TOP_ACTIONS = 8  # over-time charts draw at most this many actions (the busiest)
BOX_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
LATENCY_COLUMNS = ("count", "failures", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")
RATE_KEYS = ("rps", "ops_per_s", "requests_per_s", "throughput")
KNOWN_ID_RE = re.compile(r"known (?:\w+ issue \()?([a-z0-9]+(?:-[a-z0-9]+)+):")
VERDICT_MEANS = {"passed": "the target passed", "failed": "the target failed a check or a gate",
                 "error": "the harness could not run",
                 "unverified": "nothing failed, but some pushed changesets could not be verified",
                 "interrupted": "a signal ended the run: only the stages listed had finished",
                 "unknown": "no verdict: summary.json missing or incomplete"}


def chart(svg_text: str) -> Markup:
    """svg.py escapes every text it draws."""
    return Markup(svg_text)


def header(r: Report) -> dict:
    s = r.summary
    verdict = s.get("verdict") or "unknown"
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for st in s.get("stages") or []:
        for k in counts:
            counts[k] += int((st.get("counts") or {}).get(k, 0) or 0)
    target = s.get("target") or {}
    gates = s.get("slo_file") or ("load/slo.toml (the defaults)" if s.get("slo") else None)
    meta = [("target", target.get("url")), ("site", target.get("site")), ("build", s.get("build_id")),
            ("SLO gates", gates), ("command", s.get("command")),
            ("started", s.get("started")), ("ended", s.get("ended")),
            ("duration", f"{num(s.get('duration_s'))} s" if s.get("duration_s") is not None else None),
            ("harness", s.get("harness_version")), ("schema", s.get("schema"))]
    return {"run_id": s.get("run_id") or r.dir.name, "verdict": verdict.upper(),
            "cls": verdict if verdict in VERDICT_MEANS else "unknown", "means": VERDICT_MEANS.get(verdict, ""),
            "counts": counts, "exit_code": s.get("exit_code", "?"), "meta": [(k, v) for k, v in meta if v],
            "warnings": s.get("warnings") or [], "problems": list(r.problems)}


def failures(r: Report) -> dict | None:
    failed = [t for t in r.summary.get("tests") or [] if t.get("outcome") in ("failed", "error")]
    bad_stages = [st for st in r.summary.get("stages") or [] if st.get("status") in ("failed", "error", "unverified")]
    if not failed and not bad_stages:
        return None
    tests = []
    for t in failed:
        harness = bool(t.get("harness_error"))
        tests.append({"harness": harness, "id": t.get("id"), "stage": t.get("stage", ""),
                      "status": status("harness error (not a target failure)" if harness else t.get("outcome")),
                      "duration_s": t.get("duration_s"), "message": t.get("message"),
                      "artifacts": [_artifact(r, a) for a in t.get("artifacts") or []]})
    return {"stages": [{"status": status(st.get("status")), "name": st.get("name"), "detail": st.get("detail")}
                       for st in bad_stages if st.get("detail")],
            "tests": tests}


def _artifact(r: Report, item) -> dict:
    """One failure artifact: kind says how it is shown (macro artifact in sections.html)."""
    text = str(item)
    if text.startswith("artifact error:"):
        return {"kind": "error", "text": text}
    rel = r.rel(text)
    if rel is None:
        return {"kind": "outside", "text": text}
    path = r.dir / rel
    if path.suffix.lower() in IMAGE_TYPES:
        return {"kind": "image", "image": r.image(rel)}
    if path.suffix.lower() in (".txt", ".log") and path.exists():
        content = path.read_text(encoding="utf-8", errors="replace")
        if path.name == "url.txt" or len(content) < 300:
            return {"kind": "short", "link": r.link(rel), "text": content.strip()}
        return {"kind": "long", "link": r.link(rel), "text": "\n".join(content.splitlines()[:30])}
    note = " (the page as captured; it may run the target's scripts when opened)" if path.suffix in (
        ".html", ".htm") else ""
    return {"kind": "file", "link": r.link(rel), "note": note}


def slo(r: Report) -> dict | None:
    """Failed gates first; skipped ones (too few samples to judge) folded away."""
    gates = [g for g in r.summary.get("slo") or [] if isinstance(g, dict)]
    if not gates:
        return None
    keys = ["gate", "status", "observed", "threshold"]
    for g in gates:
        keys += [k for k in g if k not in keys]

    def table(chosen, cls=""):
        rows = [[status(g.get(k)) if k == "status" else _cell(g.get(k)) for k in keys] for g in chosen]
        return Table(keys, rows, frozenset({2, 3}), cls)

    bad = [g for g in gates if g.get("status") not in ("passed", "skipped")]
    passed = [g for g in gates if g.get("status") == "passed"]
    skipped = [g for g in gates if g.get("status") == "skipped"]
    folded = [{"count": len(chosen), "what": what, "open": is_open, "table": table(chosen)}
              for chosen, what, is_open in ((passed, "passed", not bad and len(passed) <= 15),
                                            (skipped, "skipped", False)) if chosen]
    return {"counts": {k: sum(1 for g in gates if g.get("status") == k) for k in ("passed", "failed", "error",
                                                                                 "skipped")},
            "bad": table(bad, "slo") if bad else None, "folded": folded}


def ab(r: Report) -> dict | None:
    """A/B runs: per action, the candidate's median over the baseline's with its interval (a chart and a table),
    for every stage that compared (load: ab.NAME.* gates; traffic: traffic.ab.NAME.*)."""
    stages = [st for st in r.summary.get("stages") or [] if isinstance(st, dict) and isinstance(st.get("ab"), dict)]
    if not stages:
        return None
    gates = {g.get("gate"): g.get("status") for g in r.summary.get("slo") or [] if isinstance(g, dict)}
    word = {"failed": "regression", "passed": "within bounds", "skipped": "inconclusive"}
    rows, chart_rows = [], []
    for stage in stages:
        data, prefix = stage["ab"], ("" if stage.get("name") == "load" else f"{stage.get('name')}.")
        actions = {k: v for k, v in (data.get("actions") or {}).items() if isinstance(v, dict)}
        for name, a in sorted(actions.items()):
            label = name if len(stages) == 1 else f"{name} ({stage.get('name')})"
            status = gates.get(f"{prefix}ab.{name}.p50_ratio")
            verdict = word.get(status, "") if a.get("ratio") is not None else "too few pairs"
            if a.get("unequal_work"):  # Mercurial operations: pairs whose two servers moved different work
                verdict += f" ({a['unequal_work']} pairs of unequal work left out)"
            interval = (f"{a['ci_low']:.2f}-{a['ci_high']:.2f}" if _f(a.get("ci_high")) is not None else
                        f"{a['ci_low']:.2f}-inf" if _f(a.get("ci_low")) is not None else None)
            rows.append([label, a.get("pairs"), a.get("candidate_p50_ms"), a.get("baseline_p50_ms"), a.get("ratio"),
                         interval, _pct(a.get("candidate_error_rate")), _pct(a.get("baseline_error_rate")), verdict])
            chart_rows.append({"label": label, "ratio": _f(a.get("ratio")), "low": _f(a.get("ci_low")),
                               "high": _f(a.get("ci_high")), "verdict": verdict})
    data = stages[0]["ab"]
    effect = _f(data.get("min_effect")) or 0.0
    table = Table(["action", "pairs", "candidate p50 ms", "baseline p50 ms", "paired ratio", "bounds",
                   "candidate errors", "baseline errors", "verdict"], rows, frozenset({1, 2, 3, 4}))
    conf = _f(data.get("confidence")) or 0.95
    picture = svg.ratio_chart(chart_rows, effect, "Candidate / baseline latency per action (paired)",
                              note=f"candidate / baseline (bounds at {conf:.0%}, simultaneous; batch means)")
    baseline = (r.summary.get("baseline") or {}).get("url")
    machine = []  # both targets on the harness's machine: how overloaded it was (load/ab.py CpuPressure)
    for stage in stages:
        m = stage["ab"].get("machine")
        if isinstance(m, dict) and m.get("local") and _f(m.get("cpu_pressure")) is not None:
            machine.append(f"{stage.get('name')}: {m['cpu_pressure']:.0%}")
    crossover = [f"{name} {a['halves'][0]:.2f}x then {a['halves'][1]:.2f}x" for stage in stages if stage["ab"].get("crossover")
                 for name, a in sorted((stage["ab"].get("actions") or {}).items())
                 if isinstance(a, dict) and isinstance(a.get("halves"), list) and len(a["halves"]) == 2
                 and all(_f(x) is not None for x in a["halves"])]
    return {"table": table, "chart": chart(picture) if picture else None, "baseline": baseline,
            "threshold": 1 + effect, "confidence": conf, "machine": "; ".join(machine),
            "crossover": "; ".join(crossover)}


def capacity(r: Report) -> dict | None:
    """Capacity search: throughput and p95 against concurrency, per level (and the baseline's, if searched)."""
    stage = next((st for st in r.summary.get("stages") or [] if isinstance(st, dict)
                  and isinstance(st.get("capacity"), dict)), None)
    if stage is None:
        return None
    sides = [(name, c) for name, c in (("candidate", stage["capacity"].get("candidate")),
                                       ("baseline", stage["capacity"].get("baseline"))) if isinstance(c, dict)]
    rows, rps, p95 = [], [], []
    for name, c in sides:
        levels = [lv for lv in c.get("levels") or [] if isinstance(lv, dict)]
        rps.append((name, [(lv.get("users"), _f(lv.get("rps"))) for lv in levels]))
        p95.append((name, [(lv.get("users"), _f(lv.get("p95_ms"))) for lv in levels]))
        rows += [[name, lv.get("users"), lv.get("rps"), lv.get("p95_ms"), _pct(lv.get("error_rate")),
                  "held" if lv.get("held_slo") else "broken"] for lv in levels]
    table = Table(["target", "users", "requests/s", "p95 ms", "errors", "SLO"], rows, frozenset({1, 2, 3}))
    charts = [chart(c) for c in (
        svg.line_chart(rps, "Throughput against concurrency", "requests/s", x_label="users", shift_x=False),
        svg.line_chart(p95, "p95 latency against concurrency", "ms", x_label="users", shift_x=False)) if c]
    cand = dict(sides[0][1]) if sides else {}
    return {"table": table, "charts": charts, "capacity": cand.get("capacity_rps"),
            "users": cand.get("capacity_users"), "knee": cand.get("knee_users"), "stopped": cand.get("stopped")}


def load_model(r: Report) -> dict | None:
    """A load run of a mix derived from access logs (`hgharness load derive`): what the mix was learned from; or,
    on the embedded hgweb, the load stage's own requests read back from the server's access log into a mix."""
    key, stage = next(((k, st) for k in ("derived", "derived_from_run") for st in r.summary.get("stages") or []
                       if isinstance(st, dict) and isinstance(st.get(k), dict)), (None, None))
    if stage is None:
        return None
    d = stage[key]
    classes = d.get("classes") if isinstance(d.get("classes"), dict) else {}
    rows = [[cls, _pct(c.get("share")), c.get("sessions"), c.get("requests"), c.get("think_s"),
             c.get("session_requests_p50")] for cls, c in classes.items() if isinstance(c, dict)]
    table = Table(["class", "users", "sessions", "requests", "think s", "requests/session"], rows,
                  frozenset({1, 2, 3, 4, 5}))
    top = ", ".join(f"{a} {n}" for a, n in (d.get("top_actions") or []) if isinstance(a, str))
    hg_ops = d.get("hg_operations") if isinstance(d.get("hg_operations"), dict) else {}
    return {"own_log": key == "derived_from_run",
            "requests": d.get("requests"), "sessions": d.get("sessions"), "malformed": d.get("malformed"),
            "hours": d.get("hours_covered"), "peak_rps": d.get("peak_rps"), "mean_rps": d.get("mean_rps"),
            "busiest": d.get("busiest_quarter"), "format": d.get("format"), "top": top,
            "hg": ", ".join(f"{k} {v}" for k, v in hg_ops.items()), "table": table}


def _pct(v) -> str | None:
    return f"{v:.2%}" if _f(v) is not None else None


def _cell(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)[:300]
    return v


def _f(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _rate(v: dict) -> float | None:
    return next((float(v[k]) for k in RATE_KEYS if _f(v.get(k)) is not None), None)


def _boxes(sorted_values: list[float]) -> dict:
    """The five quantiles a box plot draws (svg.distribution_chart)."""
    return {f"p{int(q * 100)}": quantile(sorted_values, q, presorted=True) for q in BOX_QUANTILES}


def _actions(r: Report) -> dict[str, dict]:
    """Latency per action: summary["actions"], else Locust's stats, else computed from the raw samples."""
    actions = {k: v for k, v in (r.summary.get("actions") or {}).items() if isinstance(v, dict)}
    if not actions:
        actions = {row["name"]: {k: row[k] for k in ("count", "failures", "p50_ms", "p95_ms", "p99_ms", "rps")}
                   for row in r.locust if row["name"] != "Aggregated"}
    if not actions and r.samples:
        for a in r.samples.actions():
            ok, failed = r.samples.count(a)
            xs = sorted(r.samples.latencies(a))
            figures = {"count": len(xs), "p50_ms": quantile(xs, 0.5, True), "p95_ms": quantile(xs, 0.95, True),
                       "p99_ms": quantile(xs, 0.99, True), "max_ms": xs[-1]} if ok else {"count": 0}
            actions[a] = dict(figures, failures=failed)
    return actions


def latency(r: Report) -> dict | None:
    table = bars = None
    actions = _actions(r)
    if actions:
        keys = [k for k in LATENCY_COLUMNS if any(k in v for v in actions.values())]
        rows = [[name] + [_cell(v.get(k)) for k in keys] + [_rate(v)] for name, v in sorted(actions.items())]
        table = Table(["action"] + keys + ["per second"], rows, frozenset(range(1, len(keys) + 2)))
        groups = [(name, [_f(v.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms")]) for name, v in sorted(actions.items())]
        bars = chart(svg.bar_chart(groups, ["p50", "p95", "p99"], "Latency percentiles per action", "ms"))
    over_time = [chart(c) for c in _over_time(r)]
    if table is None and not over_time:
        return None
    return {"table": table, "bars": bars, "over_time": over_time}


def _over_time(r: Report) -> list[str]:
    out = []
    agg = [h for h in r.history if h["name"] == "Aggregated"]
    if agg:
        out.append(svg.line_chart([(f"p{q}", [(h["t"], h[f"p{q}"]) for h in agg]) for q in (50, 95, 99)],
                                  "Latency percentiles over time (all requests, Locust)"))
        out.append(svg.line_chart([("requests/s", [(h["t"], h["rps"]) for h in agg]),
                                   ("failures/s", [(h["t"], h["failures_per_s"]) for h in agg]),
                                   ("users", [(h["t"], h["users"]) for h in agg])],
                                  "Throughput and users over time (Locust)", y_label="per second / users"))
    per_name: dict[str, list] = {}
    for h in r.history:
        if h["name"] != "Aggregated":
            per_name.setdefault(h["name"], []).append((h["t"], h["p95"]))
    if per_name:
        busiest = sorted(per_name, key=lambda n: -len(per_name[n]))[:TOP_ACTIONS]
        out.append(svg.line_chart([(n, per_name[n]) for n in sorted(busiest)],
                                  "p95 latency over time per action (Locust)"))
    series = _sample_series(r)
    if series:
        out.append(svg.line_chart(series, "Median latency over time per action (raw samples)"))
    return [c for c in out if c]


def _sample_series(r: Report, buckets: int = 30) -> list:
    timed = {a: [(t, ms) for t, ms in r.samples.ok.get(a, []) if t is not None] for a in r.samples.actions()}
    timed = {a: v for a, v in timed.items() if len(v) >= 5}
    if not timed:
        return []
    t0 = min(t for v in timed.values() for t, _ in v)
    t1 = max(t for v in timed.values() for t, _ in v)
    width = max((t1 - t0) / buckets, 1e-3)
    series = []
    for a in sorted(sorted(timed, key=lambda a: -len(timed[a]))[:TOP_ACTIONS]):
        bins: dict[int, list] = {}
        for t, ms in timed[a]:
            bins.setdefault(min(buckets - 1, int((t - t0) / width)), []).append(ms)
        series.append((a, [(t0 + (b + 0.5) * width, quantile(v, 0.5)) for b, v in sorted(bins.items())]))
    return series


def throughput(r: Report) -> dict | None:
    rows = [(row["name"], [row["rps"]]) for row in r.locust if row["name"] != "Aggregated" and row["rps"]]
    sources_used = ["Locust"] if rows else []
    seen = {name for name, _ in rows}
    for name, v in sorted((r.summary.get("actions") or {}).items()):
        rate = _rate(v) if isinstance(v, dict) else None
        if rate is not None and name not in seen:
            rows.append((name, [rate]))
            if "summary" not in sources_used:
                sources_used.append("summary")
    source = " and ".join(sources_used)
    if not rows and r.samples:
        source = "raw samples"
        for a in r.samples.actions():
            ts = [t for t, _ in r.samples.ok.get(a, []) if t is not None]
            if len(ts) >= 2 and max(ts) > min(ts):
                rows.append((a, [(len(ts) - 1) / (max(ts) - min(ts))]))
    bars = svg.bar_chart(sorted(rows), ["per second"], f"Throughput per action ({source})", "operations/s")
    failures = None
    if r.locust_failures:
        failures = Table(["method", "name", "error", "occurrences"],
                         [[f["method"], f["name"], f["error"], f["occurrences"]] for f in r.locust_failures],
                         frozenset({3}))
    locust_html = r.link("locust.html") if (r.dir / "locust.html").exists() else None
    if not bars and not locust_html and not failures:
        return None
    return {"chart": chart(bars) if bars else None, "locust_html": locust_html, "failures": failures}


def structure(value, depth: int = 0):
    """A nested JSON value as tables: dict of dicts -> one row per key; dict -> key/value; deeper -> JSON."""
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()) and depth < 2:
            cols: list[str] = []
            for v in value.values():
                cols += [k for k in v if k not in cols]
            rows = [[k] + [_cell(v.get(c)) for c in cols] for k, v in value.items()]
            return Table([""] + cols, rows, frozenset(range(1, len(cols) + 1)))
        rows = [[k, structure(v, depth + 1) if isinstance(v, (dict, list)) and depth < 2 and v else _cell(v)]
                for k, v in value.items()]
        return Table(["", "value"], rows)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value) and depth < 2:
            cols = []
            for v in value:
                cols += [k for k in v if k not in cols]
            return Table(cols, [[_cell(v.get(c)) for c in cols] for v in value])
        return Pre(json.dumps(value, ensure_ascii=False, indent=1)[:5000])
    return str(value)


def hg(r: Report) -> dict | None:
    traffic = r.summary.get("traffic") or r.traffic_file
    record = r.link("traffic.json") if (r.dir / "traffic.json").exists() else None
    rows = []
    for a in r.samples.actions():
        if a.startswith("hg.") or a in ("clone", "pull", "push"):
            xs = sorted(r.samples.latencies(a))
            if xs:
                rows.append((a, [("latency", _boxes(xs))]))
    boxes = chart(svg.distribution_chart(rows, "Mercurial operation latency", "ms")) if rows else None
    if not traffic and not record and not boxes:
        return None
    return {"traffic": structure(traffic) if traffic else None, "record": record, "chart": boxes}


def functional(r: Report) -> dict | None:
    if not r.functional:
        return None
    metrics: list[str] = []
    for rec in r.functional:
        metrics += [k for k, v in rec.items() if k.endswith("_ms") and k not in metrics and _f(v) is not None]
    by_action: dict[str, list[dict]] = {}
    for rec in r.functional:
        by_action.setdefault(str(rec["action"]), []).append(rec)

    def values(recs, metric):
        return sorted(float(x[metric]) for x in recs if _f(x.get(metric)) is not None)

    rows = []
    for a, recs in sorted(by_action.items()):
        row = [a, len(recs)]
        for m in metrics:
            vals = values(recs, m)
            row += [quantile(vals, 0.5, True) if vals else None, vals[-1] if vals else None]
        rows.append(row)
    headers = ["action", "count"] + [f"{m} {w}" for m in metrics for w in ("median", "max")]
    main = "load_ms" if "load_ms" in metrics else (metrics[0] if metrics else None)
    boxes = None
    if main:
        dist = []
        for a, recs in sorted(by_action.items()):
            vals = values(recs, main)
            if vals:
                dist.append((a, [(main, _boxes(vals))]))
        boxes = chart(svg.distribution_chart(dist, f"Browser {main} per action", "ms"))
    return {"table": Table(headers, rows, frozenset(range(1, len(headers)))), "chart": boxes}


def stages(r: Report) -> dict | None:
    rows = []
    for st in r.summary.get("stages") or []:
        c = st.get("counts") or {}
        rows.append([st.get("name"), status(st.get("status", "")), st.get("exit_code"), c.get("passed", 0),
                     c.get("failed", 0), c.get("error", 0), c.get("skipped", 0), st.get("duration_s"),
                     st.get("detail", ""), Links([r.link(f) for f in st.get("files") or []])])
    if not rows:
        return None
    return {"table": Table(["stage", "status", "exit", "passed", "failed", "errors", "skipped", "seconds", "detail",
                            "files"], rows, frozenset({2, 3, 4, 5, 6, 7}))}


def coverage(r: Report) -> dict | None:
    """The headless stage's coverage table: per route and representation, which checks assert what."""
    cov = next((st.get("coverage") for st in r.summary.get("stages") or [] if st.get("coverage")), None)
    if not cov:
        return None
    marks = lambda row, a: len(row.get(a) or []) or ""  # noqa: E731  (how many checks)
    rows = [[c["route"], c["rep"], marks(c, "status"), marks(c, "content"), marks(c, "freshness"), marks(c, "policy"),
             ", ".join(sorted({x for a in ("content", "freshness", "policy") for x in c.get(a) or []}))[:200]]
            for c in cov.get("rows", [])]
    gaps = Table(["route", "representations without a content oracle", "why"],
                 [[u["route"], ", ".join(u["reps"]), u["reason"] or status("GAP", "failed")]
                  for u in cov.get("uncovered", [])])
    return {"site": cov.get("site"), "source": cov.get("source"), "counts": cov.get("counts") or {},
            "table": Table(["route", "representation", "status", "content", "freshness", "policy", "checks"], rows,
                           frozenset({2, 3, 4, 5})), "gaps": gaps}


def tests(r: Report) -> dict | None:
    tests = r.summary.get("tests") or []
    if not tests:
        return None
    rows = [[t.get("id"), t.get("stage", ""), status(t.get("outcome", "")), t.get("duration_s"),
             (t.get("message") or "")[:300]] for t in tests]
    return {"count": len(tests), "table": Table(["check", "stage", "outcome", "seconds", "message"], rows,
                                                 frozenset({3}))}


def findings(r: Report) -> dict | None:
    """What the checks found that does not fail the run: known defects of the site software (expected
    failures, each naming its issue) and missing security headers (header_policy = warn)."""
    tests = r.summary.get("tests") or []
    known: dict[str, list[str]] = {}  # issue id (else the whole reason) -> checks
    reasons: dict[str, str] = {}
    for t in tests:
        if t.get("known_issue"):
            reason = t.get("message") or "(no reason given)"
            m = KNOWN_ID_RE.search(reason)
            key = m.group(1) if m else reason
            known.setdefault(key, []).append(t.get("id", ""))
            reasons.setdefault(key, reason)
    grades = [t["header_grade"] for t in tests if isinstance(t.get("header_grade"), dict)]
    if not known and not grades:
        return None
    known_table = headers_table = None
    if known:
        rows = [[key if key != reasons[key] else "", reasons[key][:400], len(ids), Lines(ids[:5], max(0, len(ids) - 5))]
                for key, ids in sorted(known.items(), key=lambda kv: -len(kv[1]))]
        known_table = Table(["issue", "what (first check's words)", "checks", "checks (first 5)"], rows,
                            frozenset({2}))
    if grades:
        rows = [[g.get("row"), status(g.get("grade", "")), (g.get("detail") or "")[:300]]
                for g in sorted(grades, key=lambda g: (g.get("grade") == "pass", str(g.get("row"))))]
        headers_table = Table(["header", "grade", "detail"], rows)
    return {"checks": sum(len(v) for v in known.values()), "defects": len(known),
            "warned": sum(1 for g in grades if g.get("grade") != "pass"), "graded": len(grades),
            "known": known_table, "headers": headers_table}


def files(r: Report) -> dict | None:
    found = []
    for root, dirs, names in os.walk(r.dir):
        dirs.sort()
        for n in sorted(names):
            p = Path(root) / n
            if p.name != "index.html" or p.parent != r.dir:
                found.append(p)
    if not found:
        return None
    return {"count": len(found),
            "table": Table(["file", "bytes"], [[r.link(p), p.stat().st_size] for p in found[:MAX_ROWS]],
                           frozenset({1}))}


# page order; the navigation bar lists those present, with these titles
SECTIONS = [(header, None), (failures, "what failed"), (findings, "findings"), (slo, "SLOs"), (ab, "A/B"), (load_model, "load model"), (capacity, "capacity"), (latency, "latency"),
            (throughput, "throughput"), (hg, "Mercurial operations"), (functional, "functional timings"),
            (stages, "stages"), (coverage, "coverage"), (tests, "checks"), (files, "files")]
