"""index.html of a run: one self-contained page (inline CSS, inline SVG charts, no JavaScript, no network).

Order: the verdict; what failed, with its artifacts; the SLO table; latency per action and over time; throughput;
Mercurial operations; functional action timings; stages, every test, every file. Each section is optional:
whatever a stage did not leave is skipped, and a section that cannot be drawn says why instead of breaking the
page. Everything shown is escaped (repository data is hostile), links only point inside the run directory, a
Content-Security-Policy forbids scripts, and known secrets are redacted from the page before it is written.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import urllib.parse
from pathlib import Path

from hgharness.reports import sources, svg
from hgharness.reports.samples import read_samples
from hgharness.reports.stats import quantile

from hgharness.secrets import redact

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
INLINE_IMAGE_MAX = 1_500_000  # bytes: bigger screenshots are linked, not inlined
INLINE_IMAGES_TOTAL = 20
MAX_ROWS = 500
TOP_ACTIONS = 8  # over-time charts draw at most this many actions (the busiest)

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 18px 40px;color:#222}
h1{font-size:20px;margin:18px 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:16px 0 6px}
.verdict{padding:14px 18px;border-radius:6px;color:#fff;font-size:22px;font-weight:600;margin:14px 0}
.v-passed{background:#2e7d32}.v-failed{background:#c62828}.v-error{background:#6a1b9a}.v-unknown{background:#616161}
.verdict small{display:block;font-size:13px;font-weight:400;opacity:.95}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}.tw{overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.st{font-weight:600}.st-passed,.st-pass,.st-ok{color:#2e7d32}.st-failed,.st-fail,.st-error{color:#c62828}
.st-skipped{color:#777}.st-warn{color:#e65100}
.failure{border-left:4px solid #c62828;padding:4px 12px;margin:10px 0;background:#fff8f8}
.failure.harness{border-color:#6a1b9a;background:#fbf6fd}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:6px 8px;margin:4px 0;font-size:12px}
img.shot{max-width:100%;border:1px solid #ccc;margin:6px 0}
.note{color:#555}.warn{color:#e65100}
svg.chart{display:block;margin:8px 0;max-width:100%;height:auto}
details>summary{cursor:pointer;margin:6px 0}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:6px 0}dl.meta dt{color:#555}
dl.meta dd{margin:0}
""".strip()


class Markup(str):
    """HTML built here from escaped parts: not escaped again."""


def e(value) -> str:
    if isinstance(value, Markup):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def num(v, digits: int = 1) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    return str(v)


def status(text) -> Markup:
    cls = str(text).lower().replace(" ", "-")
    return Markup(f'<span class="st st-{e(cls)}">{e(text)}</span>')


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "") -> Markup:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for row in rows[:MAX_ROWS]:
        cells = []
        for i, v in enumerate(row):
            text = v if isinstance(v, Markup) else e(num(v) if isinstance(v, (int, float)) else v)
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(rows) - MAX_ROWS} more rows not shown</p>' if len(rows) > MAX_ROWS else ""
    return Markup(f'<div class="tw"><table class="{e(cls)}"><thead><tr>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table></div>' + more)


class Report:
    """Everything read from one run directory, and the helpers that link inside it."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir.resolve()
        self.problems = sources.Problems()
        self.summary = sources.read_json(run_dir / "summary.json", self.problems) or {}
        if not isinstance(self.summary, dict):
            self.problems.append("summary.json: not a JSON object")
            self.summary = {}
        self.samples = read_samples(run_dir)
        self.locust = sources.locust_stats(run_dir, self.problems)
        self.history = sources.locust_history(run_dir, self.problems)
        self.locust_failures = sources.locust_failures(run_dir, self.problems)
        self.functional = sources.functional_timings(run_dir, self.problems)
        self.traffic_file = sources.read_json(run_dir / "traffic.json", self.problems)
        self.images_inlined = 0

    def rel(self, path) -> str | None:
        """Path relative to the run directory, or None when it points outside (never linked)."""
        p = Path(str(path))
        if not p.is_absolute():
            p = self.dir / p
        try:
            return p.resolve().relative_to(self.dir).as_posix()
        except (ValueError, OSError):
            return None

    def link(self, path, label=None) -> Markup:
        rel = self.rel(path)
        if rel is None:
            return Markup(e(label or path))
        return Markup(f'<a href="{e(urllib.parse.quote(rel))}">{e(label or rel)}</a>')

    def image(self, path) -> Markup:
        rel = self.rel(path)
        if rel is None:
            return Markup(e(path))
        full = self.dir / rel
        mime = IMAGE_TYPES.get(full.suffix.lower())
        try:
            size = full.stat().st_size
        except OSError:
            return Markup(e(rel) + " (missing)")
        if mime and size <= INLINE_IMAGE_MAX and self.images_inlined < INLINE_IMAGES_TOTAL:
            self.images_inlined += 1
            data = base64.b64encode(full.read_bytes()).decode("ascii")
            return Markup(f'<div>{self.link(rel)}</div><img class="shot" alt="{e(rel)}" '
                          f'src="data:{mime};base64,{data}">')
        return self.link(rel)


# --- sections -------------------------------------------------------------------------------------------------

def _header(r: Report) -> str:
    s = r.summary
    verdict = s.get("verdict") or "unknown"
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for st in s.get("stages") or []:
        for k in counts:
            counts[k] += int((st.get("counts") or {}).get(k, 0) or 0)
    target = s.get("target") or {}
    what = {"passed": "the target passed", "failed": "the target failed a check or a gate",
            "error": "the harness could not run", "unknown": "no verdict: summary.json missing or incomplete"}
    line = (f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
            f"{counts['skipped']} skipped")
    out = [f'<h1>hgharness run {e(s.get("run_id") or r.dir.name)}</h1>',
           f'<div id="verdict" class="verdict v-{e(verdict if verdict in what else "unknown")}">{e(verdict.upper())}'
           f' <small>{e(what.get(verdict, ""))} &middot; {e(line)} &middot; exit code '
           f'{e(s.get("exit_code", "?"))}</small></div>']
    meta = [("target", target.get("url")), ("site", target.get("site")), ("command", s.get("command")),
            ("started", s.get("started")), ("ended", s.get("ended")),
            ("duration", f"{num(s.get('duration_s'))} s" if s.get("duration_s") is not None else None),
            ("harness", s.get("harness_version")), ("schema", s.get("schema"))]
    out.append('<dl class="meta">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta if v) + "</dl>")
    for w in s.get("warnings") or []:
        out.append(f'<p class="warn">WARNING: {e(w)}</p>')
    for p in r.problems:
        out.append(f'<p class="warn">could not read {e(p)}</p>')
    return "".join(out)


def _failures(r: Report) -> str:
    failed = [t for t in r.summary.get("tests") or [] if t.get("outcome") in ("failed", "error")]
    bad_stages = [st for st in r.summary.get("stages") or [] if st.get("status") in ("failed", "error")]
    if not failed and not bad_stages:
        return ""
    out = ['<h2 id="failures">What failed</h2>']
    for st in bad_stages:
        if st.get("detail"):
            out.append(f'<p>{status(st.get("status"))} stage <b>{e(st.get("name"))}</b>: {e(st.get("detail"))}</p>')
    for t in failed:
        harness = bool(t.get("harness_error"))
        kind = "harness error (not a target failure)" if harness else t.get("outcome")
        out.append(f'<div class="failure{" harness" if harness else ""}"><h3>{status(kind)} {e(t.get("id"))}</h3>'
                   f'<div class="note">stage {e(t.get("stage", ""))}, {num(t.get("duration_s"), 2)} s</div>')
        if t.get("message"):
            out.append(f"<pre>{e(t['message'])}</pre>")
        for a in t.get("artifacts") or []:
            out.append(_artifact(r, a))
        out.append("</div>")
    return "".join(out)


def _artifact(r: Report, item) -> str:
    text = str(item)
    if text.startswith("artifact error:"):
        return f'<p class="warn">{e(text)}</p>'
    rel = r.rel(text)
    if rel is None:
        return f'<p class="note">artifact outside the run directory: {e(text)}</p>'
    path = r.dir / rel
    if path.suffix.lower() in IMAGE_TYPES:
        return str(r.image(rel))
    if path.suffix.lower() in (".txt", ".log") and path.exists():
        content = path.read_text(encoding="utf-8", errors="replace")
        if path.name == "url.txt" or len(content) < 300:
            return f"<div>{r.link(rel)}: <code>{e(content.strip())}</code></div>"
        head = "\n".join(content.splitlines()[:30])
        return f"<details><summary>{r.link(rel)}</summary><pre>{e(head)}</pre></details>"
    note = " (the page as captured; it may run the target's scripts when opened)" if path.suffix in (
        ".html", ".htm") else ""
    return f'<div>{r.link(rel)}<span class="note">{e(note)}</span></div>'


def _slo(r: Report) -> str:
    """Failed gates first; skipped ones (too few samples to judge) folded away."""
    slo = [g for g in r.summary.get("slo") or [] if isinstance(g, dict)]
    if not slo:
        return ""
    keys = ["gate", "status", "observed", "threshold"]
    for g in slo:
        keys += [k for k in g if k not in keys]
    bad = [g for g in slo if g.get("status") not in ("passed", "skipped")]
    passed = [g for g in slo if g.get("status") == "passed"]
    skipped = [g for g in slo if g.get("status") == "skipped"]

    def rows(gates):
        return [[status(g.get(k)) if k == "status" else _cell(g.get(k)) for k in keys] for g in gates]

    counts = {k: sum(1 for g in slo if g.get("status") == k) for k in ("passed", "failed", "error", "skipped")}
    out = ['<h2 id="slo">Service-level objectives</h2>',
           f'<p>{counts["failed"]} failed, {counts["error"]} errors, {counts["passed"]} passed, '
           f'{counts["skipped"]} skipped</p>']
    if bad:
        out.append(table(keys, rows(bad), numeric={2, 3}, cls="slo"))
    for gates, what, is_open in ((passed, "passed", not bad and len(passed) <= 15), (skipped, "skipped", False)):
        if gates:
            out.append(f"<details{' open' if is_open else ''}><summary>{len(gates)} gates {what}</summary>"
                       + table(keys, rows(gates), numeric={2, 3}) + "</details>")
    return "".join(out)


def _cell(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)[:300]
    return v


def _percentiles(values: list[float]) -> dict:
    xs = sorted(values)
    return {"count": len(xs), "p50_ms": quantile(xs, 0.5, True), "p95_ms": quantile(xs, 0.95, True),
            "p99_ms": quantile(xs, 0.99, True), "max_ms": xs[-1]}


def _actions(r: Report) -> dict[str, dict]:
    """Latency per action: summary["actions"], else Locust's stats, else computed from the raw samples."""
    actions = {k: v for k, v in (r.summary.get("actions") or {}).items() if isinstance(v, dict)}
    if not actions:
        actions = {row["name"]: {k: row[k] for k in ("count", "failures", "p50_ms", "p95_ms", "p99_ms", "rps")}
                   for row in r.locust if row["name"] != "Aggregated"}
    if not actions and r.samples:
        for a in r.samples.actions():
            ok, failed = r.samples.count(a)
            actions[a] = dict(_percentiles(r.samples.latencies(a)) if ok else {"count": 0}, failures=failed)
    return actions


def _latency(r: Report) -> str:
    out = []
    actions = _actions(r)
    if actions:
        keys = [k for k in LATENCY_COLUMNS if any(k in v for v in actions.values())]
        rows = []
        for name, v in sorted(actions.items()):
            cells = [v.get(k) if not isinstance(v.get(k), (dict, list)) else _cell(v.get(k)) for k in keys]
            rows.append([name] + cells + [_rate(v)])
        out.append("<h3>Latency per action</h3>" + table(["action"] + keys + ["per second"], rows,
                                                         numeric=set(range(1, len(keys) + 2))))
        groups = [(name, [_f(v.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms")]) for name, v in sorted(actions.items())]
        out.append(svg.bar_chart(groups, ["p50", "p95", "p99"], "Latency percentiles per action", "ms"))
    out += _over_time(r)
    if not out:
        return ""
    return '<h2 id="latency">Latency</h2>' + "".join(out)


LATENCY_COLUMNS = ("count", "failures", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")
RATE_KEYS = ("rps", "ops_per_s", "requests_per_s", "throughput")


def _rate(v: dict) -> float | None:
    return next((float(v[k]) for k in RATE_KEYS if _f(v.get(k)) is not None), None)


def _f(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


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


def _throughput(r: Report) -> str:
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
    chart = svg.bar_chart(sorted(rows), ["per second"], f"Throughput per action ({source})", "operations/s")
    out = ['<h2 id="throughput">Throughput</h2>', chart] if chart else []
    if (r.dir / "locust.html").exists():
        out.append(f'<p class="note">Locust\'s own report: {r.link("locust.html")}</p>')
    if r.locust_failures:
        out.append("<h3>Locust failures</h3>" + table(
            ["method", "name", "error", "occurrences"],
            [[f["method"], f["name"], f["error"], f["occurrences"]] for f in r.locust_failures], numeric={3}))
    return "".join(out)


def _structure(value, depth: int = 0) -> str:
    """A nested JSON value as tables: dict of dicts -> one row per key; dict -> key/value; deeper -> JSON."""
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()) and depth < 2:
            cols: list[str] = []
            for v in value.values():
                cols += [k for k in v if k not in cols]
            rows = [[k] + [_cell(v.get(c)) for c in cols] for k, v in value.items()]
            return table([""] + cols, rows, numeric=set(range(1, len(cols) + 1)))
        rows = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and depth < 2 and v:
                rows.append([k, Markup(_structure(v, depth + 1))])
            else:
                rows.append([k, _cell(v)])
        return table(["", "value"], rows)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value) and depth < 2:
            cols = []
            for v in value:
                cols += [k for k in v if k not in cols]
            return table(cols, [[_cell(v.get(c)) for c in cols] for v in value])
        return f"<pre>{e(json.dumps(value, ensure_ascii=False, indent=1)[:5000])}</pre>"
    return e(value)


def _hg(r: Report) -> str:
    traffic = r.summary.get("traffic")
    out = []
    if traffic:
        out.append(_structure(traffic))
    elif r.traffic_file:
        out.append(_structure(r.traffic_file))
    if (r.dir / "traffic.json").exists():
        out.append(f'<p class="note">full record: {r.link("traffic.json")}</p>')
    hg_actions = [a for a in r.samples.actions() if a.startswith("hg.") or a in ("clone", "pull", "push")]
    rows = []
    for a in hg_actions:
        xs = sorted(r.samples.latencies(a))
        if xs:
            rows.append((a, [("latency", {f"p{int(q * 100)}": quantile(xs, q, True)
                                          for q in (0.05, 0.25, 0.5, 0.75, 0.95)})]))
    if rows:
        out.append(svg.distribution_chart(rows, "Mercurial operation latency", "ms"))
    if not out:
        return ""
    return '<h2 id="hg">Mercurial operations</h2>' + "".join(out)


def _functional(r: Report) -> str:
    if not r.functional:
        return ""
    metrics: list[str] = []
    for rec in r.functional:
        metrics += [k for k, v in rec.items() if k.endswith("_ms") and k not in metrics and _f(v) is not None]
    by_action: dict[str, list[dict]] = {}
    for rec in r.functional:
        by_action.setdefault(str(rec["action"]), []).append(rec)
    rows = []
    for a, recs in sorted(by_action.items()):
        row = [a, len(recs)]
        for m in metrics:
            vals = sorted(float(x[m]) for x in recs if _f(x.get(m)) is not None)
            row += [quantile(vals, 0.5, True) if vals else None, vals[-1] if vals else None]
        rows.append(row)
    headers = ["action", "count"] + [f"{m} {w}" for m in metrics for w in ("median", "max")]
    out = ['<h2 id="functional">Functional action timings</h2>',
           table(headers, rows, numeric=set(range(1, len(headers))))]
    main = "load_ms" if "load_ms" in metrics else (metrics[0] if metrics else None)
    if main:
        dist = []
        for a, recs in sorted(by_action.items()):
            vals = sorted(float(x[main]) for x in recs if _f(x.get(main)) is not None)
            if vals:
                dist.append((a, [(main, {f"p{int(q * 100)}": quantile(vals, q, True)
                                         for q in (0.05, 0.25, 0.5, 0.75, 0.95)})]))
        out.append(svg.distribution_chart(dist, f"Browser {main} per action", "ms"))
    return "".join(out)


def _stages(r: Report) -> str:
    stages = r.summary.get("stages") or []
    if not stages:
        return ""
    rows = []
    for st in stages:
        c = st.get("counts") or {}
        files = Markup(", ".join(r.link(f) for f in st.get("files") or []))
        rows.append([st.get("name"), status(st.get("status", "")), st.get("exit_code"), c.get("passed", 0),
                     c.get("failed", 0), c.get("error", 0), c.get("skipped", 0), st.get("duration_s"),
                     st.get("detail", ""), files])
    return '<h2 id="stages">Stages</h2>' + table(
        ["stage", "status", "exit", "passed", "failed", "errors", "skipped", "seconds", "detail", "files"], rows,
        numeric={2, 3, 4, 5, 6, 7})


def _tests(r: Report) -> str:
    tests = r.summary.get("tests") or []
    if not tests:
        return ""
    rows = [[t.get("id"), t.get("stage", ""), status(t.get("outcome", "")), t.get("duration_s"),
             (t.get("message") or "")[:300]] for t in tests]
    return (f'<h2 id="tests">Checks</h2><details><summary>all {len(tests)} checks</summary>'
            + table(["check", "stage", "outcome", "seconds", "message"], rows, numeric={3}) + "</details>")


KNOWN_ID_RE = re.compile(r"known (?:\w+ issue \()?([a-z0-9]+(?:-[a-z0-9]+)+):")


def _findings(r: Report) -> str:
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
    warned = [g for g in grades if g.get("grade") != "pass"]
    if not known and not grades:
        return ""
    out = ['<h2 id="findings">Findings that do not fail the run</h2>',
           f"<p>{sum(len(v) for v in known.values())} checks met {len(known)} known defects of the site software "
           f"(expected failures); {len(warned)} of {len(grades)} security-header rows graded below pass.</p>"]
    if known:
        rows = [[key if key != reasons[key] else "", reasons[key][:400], len(ids),
                 Markup("<br>".join(e(i) for i in ids[:5]) + (f"<br>... {len(ids) - 5} more" if len(ids) > 5 else ""))]
                for key, ids in sorted(known.items(), key=lambda kv: -len(kv[1]))]
        out.append("<h3>Known defects (xfail)</h3>" + table(["issue", "what (first check's words)", "checks",
                                                            "checks (first 5)"], rows, numeric={2}))
    if grades:
        rows = [[g.get("row"), status(g.get("grade", "")), (g.get("detail") or "")[:300]]
                for g in sorted(grades, key=lambda g: (g.get("grade") == "pass", str(g.get("row"))))]
        out.append("<h3>Security headers</h3>" + table(["header", "grade", "detail"], rows))
    return "".join(out)


def _files(r: Report) -> str:
    files = []
    for root, dirs, names in os.walk(r.dir):
        dirs.sort()
        for n in sorted(names):
            p = Path(root) / n
            if p.name != "index.html" or p.parent != r.dir:
                files.append(p)
    if not files:
        return ""
    rows = [[r.link(p), p.stat().st_size] for p in files[:MAX_ROWS]]
    return (f'<h2 id="files">Files</h2><details><summary>{len(files)} files in the run directory</summary>'
            + table(["file", "bytes"], rows, numeric={1}) + "</details>")


NAV = [("failures", "what failed"), ("findings", "findings"), ("slo", "SLOs"), ("latency", "latency"), ("throughput", "throughput"),
       ("hg", "Mercurial operations"), ("functional", "functional timings"), ("stages", "stages"),
       ("tests", "checks"), ("files", "files")]
SECTIONS = [("header", _header), ("failures", _failures), ("findings", _findings), ("slo", _slo), ("latency", _latency),
            ("throughput", _throughput), ("hg", _hg), ("functional", _functional), ("stages", _stages),
            ("tests", _tests), ("files", _files)]


def page(title: str, body: str) -> str:
    style_hash = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    csp = (f"default-src 'none'; style-src 'sha256-{style_hash}'; img-src data:; base-uri 'none'; "
           "form-action 'none'")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n{body}\n"
            '<p class="note">Generated by hgharness (self-contained: no scripts, no network).</p></body></html>\n')


def render(run_dir) -> str:
    r = Report(Path(run_dir))
    parts = []
    for name, section in SECTIONS:
        try:
            parts.append(section(r))
        except Exception as exc:  # one broken input must not cost the whole report
            parts.append(f'<p class="warn">section {e(name)} could not be drawn: {e(type(exc).__name__)}: '
                         f'{e(exc)}</p>')
    present = [(sid, title) for sid, title in NAV if f'id="{sid}"' in "".join(parts[1:])]
    if present:
        parts.insert(1, '<nav class="note">' + " &middot; ".join(f'<a href="#{sid}">{e(t)}</a>'
                                                               for sid, title in present for t in [title]) + "</nav>")
    s = r.summary
    title = f"hgharness {s.get('verdict', 'run')} {s.get('run_id', r.dir.name)}"
    return redact(page(title, "\n".join(p for p in parts if p)))


def render_compare(result: dict) -> str:
    """The page of `hgharness report compare`: verdict, table, ratio chart, distributions."""
    s = result["settings"]
    failing = result["exit_code"] == 1
    cls = "v-failed" if failing else ("v-passed" if result["compared"] else "v-unknown")
    qn = f"p{s['quantile'] * 100:g}"
    out = [f'<h1>Baseline comparison</h1><div id="verdict" class="verdict {cls}">{e(result["verdict"].upper())}'
           f'<small>{len(result["regressions"])} of {result["compared"]} compared action(s) regressed'
           + (f": {e(', '.join(result['regressions']))}" if result["regressions"] else "") + "</small></div>",
           '<dl class="meta">'
           f'<dt>baseline</dt><dd>{e(result["base"]["run_id"])} ({e(result["base"]["dir"])})</dd>'
           f'<dt>current</dt><dd>{e(result["cur"]["run_id"])} ({e(result["cur"]["dir"])})</dd>'
           f'<dt>rule</dt><dd>regression = slower {e(qn)} with the whole interval above +{s["threshold"] * 100:g}% '
           f'and {s["min_abs_ms"]:g} ms, Mann-Whitney U significant after Holm at family-wise alpha '
           f'{s["alpha"]:g}, at least {s["min_samples"]} samples a side</dd></dl>']
    out += [f'<p class="warn">WARNING: {e(w)}</p>' for w in result["warnings"]]
    rows = []
    for r in result["rows"]:
        change = f"{(r['ratio'] - 1) * 100:+.1f}%" if r["ratio"] is not None else ""
        interval = f"[{r['low']:.3f}, {r['high']:.3f}]" if r["low"] is not None else ""
        verdict = r["verdict"]
        badge = {"regression": "fail", "more failures": "fail", "faster": "pass", "possibly slower": "warn",
                 "no change": "ok"}.get(verdict, "skipped")
        rows.append([r["action"], r["n_base"], r["n_cur"], r["failures_base"], r["failures_cur"], r["q_base"],
                     r["q_cur"], change, interval, r.get("p_slower_adj"), r.get("prob_slower"),
                     Markup(f'<span class="st st-{badge}">{e(verdict)}</span>'), r["reason"]])
    out.append(table(["action", "n base", "n cur", "fail base", "fail cur", f"{qn} base ms", f"{qn} cur ms",
                      "change", "ratio interval", "p slower (Holm)", "P(cur>base)", "verdict", "why"], rows,
                     numeric=set(range(1, 11))))
    out.append(svg.ratio_chart([{"label": r["action"], "ratio": r["ratio"], "low": r["low"], "high": r["high"],
                                 "verdict": r["verdict"]} for r in result["rows"]], s["threshold"],
                               f"{qn} current / baseline per action"))
    out.append(svg.distribution_chart([(r["action"], [("baseline", r["base"]), ("current", r["cur"])])
                                       for r in result["rows"]], "Latency distributions", "ms"))
    return redact(page(f"hgharness compare: {result['verdict']}", "\n".join(o for o in out if o)))


def build_report(run_dir) -> Path:
    """Write <run_dir>/index.html from whatever the run left there; returns its path."""
    out = Path(run_dir) / "index.html"
    out.write_text(render(run_dir), encoding="utf-8")
    return out
