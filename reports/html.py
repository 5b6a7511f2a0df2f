"""index.html of a run: one self-contained page (inline CSS, inline SVG charts, no JavaScript, no network).

Order: the verdict; what failed, with its artifacts; the SLO table; latency per action and over time; throughput;
Mercurial operations; functional action timings; stages, every test, every file. Each section is optional:
whatever a stage did not leave is skipped, and a section that cannot be drawn says why instead of breaking the
page. The pages are Jinja2 templates (templates/) with autoescape on (repository data is hostile); links only
point inside the run directory, a Content-Security-Policy forbids scripts, and known secrets are redacted from the
page before it is written.

  reports/rundata.py    what the run directory holds        reports/sections.py  what each section shows
  reports/cells.py      the kinds of value a cell holds     templates/*.html     how it is drawn
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

import jinja2
from markupsafe import Markup

from hgharness.reports import cells, svg
from hgharness.reports.rundata import Report
from hgharness.reports.sections import MAX_ROWS, SECTIONS
from hgharness.secrets import redact

TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             finalize=lambda v: "" if v is None else v)
    env.filters["num"] = cells.num
    env.tests.update({kind.__name__.lower(): functools.partial(_is, kind) for kind in cells.KINDS})
    env.globals["max_rows"] = MAX_ROWS
    return env


def _is(kind, value) -> bool:
    return isinstance(value, kind)


@functools.cache
def _style() -> tuple[Markup, str]:
    """The stylesheet, and the Content-Security-Policy that allows it (by hash) and nothing else."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"
    return Markup(css), csp


def _page(template: str, title: str, **context) -> str:
    css, csp = _style()
    return redact(environment().get_template(template).render(title=title, css=css, csp=csp, **context))


def render(run_dir) -> str:
    r = Report(Path(run_dir))
    draw = environment().get_template("sections.html").module
    parts = []
    for section, _ in SECTIONS:
        name = section.__name__
        try:
            data = section(r)
            parts.append(getattr(draw, name)(data) if data is not None else "")
        except Exception as exc:  # one broken input must not cost the whole report
            parts.append(draw.broken(name, f"{type(exc).__name__}: {exc}"))
    drawn = "".join(parts[1:])
    present = [(s.__name__, title) for s, title in SECTIONS[1:] if f'id="{s.__name__}"' in drawn]
    if present:
        parts.insert(1, draw.nav(present))
    s = r.summary
    return _page("report.html", f"hgharness {s.get('verdict', 'run')} {s.get('run_id', r.dir.name)}",
                 parts=[p for p in parts if p])


COMPARE_BADGES = {"regression": "fail", "more failures": "fail", "faster": "pass", "possibly slower": "warn",
                  "no change": "ok"}


def render_compare(result: dict) -> str:
    """The page of `hgharness report compare`: verdict, table, ratio chart, distributions."""
    s = result["settings"]
    qn = f"p{s['quantile'] * 100:g}"
    rows = []
    for r in result["rows"]:
        rows.append([r["action"], r["n_base"], r["n_cur"], r["failures_base"], r["failures_cur"], r["q_base"],
                     r["q_cur"], f"{(r['ratio'] - 1) * 100:+.1f}%" if r["ratio"] is not None else "",
                     f"[{r['low']:.3f}, {r['high']:.3f}]" if r["low"] is not None else "",
                     r.get("p_slower_adj"), r.get("prob_slower"),
                     cells.status(r["verdict"], COMPARE_BADGES.get(r["verdict"], "skipped")), r["reason"]])
    table = cells.Table(["action", "n base", "n cur", "fail base", "fail cur", f"{qn} base ms", f"{qn} cur ms",
                         "change", "ratio interval", "p slower (Holm)", "P(cur>base)", "verdict", "why"], rows,
                        frozenset(range(1, 11)))
    ratios = svg.ratio_chart([{"label": r["action"], "ratio": r["ratio"], "low": r["low"], "high": r["high"],
                               "verdict": r["verdict"]} for r in result["rows"]], s["threshold"],
                             f"{qn} current / baseline per action")
    distributions = svg.distribution_chart([(r["action"], [("baseline", r["base"]), ("current", r["cur"])])
                                            for r in result["rows"]], "Latency distributions", "ms")
    rule = (f"regression = slower {qn} with the whole interval above +{s['threshold'] * 100:g}% and "
            f"{s['min_abs_ms']:g} ms, Mann-Whitney U significant after Holm at family-wise alpha {s['alpha']:g}, "
            f"at least {s['min_samples']} samples a side")
    failing = result["exit_code"] == 1
    return _page("compare.html", f"hgharness compare: {result['verdict']}",
                 cls="v-failed" if failing else ("v-passed" if result["compared"] else "v-unknown"),
                 verdict=result["verdict"].upper(), regressions=result["regressions"], compared=result["compared"],
                 base=result["base"], cur=result["cur"], rule=rule, warnings=result["warnings"], rows=table,
                 ratio_chart=Markup(ratios), distributions=Markup(distributions))


def build_report(run_dir) -> Path:
    """Write <run_dir>/index.html from whatever the run left there; returns its path."""
    out = Path(run_dir) / "index.html"
    out.write_text(render(run_dir), encoding="utf-8")
    return out
