"""Inline SVG charts, generated in Python: the report works offline, with no JavaScript and no CDN.

Every text that reaches the SVG goes through esc() (action names come from hostile repository data). Each chart
is an <svg class="chart" role="img"> with a <title>; each point or bar has a <title> as its tooltip.
"""

from __future__ import annotations

import html
import math

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22"]
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    a = abs(v)
    if a >= 100 or v == int(v):
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while True:  # the last tick is at or above hi, so the scale covers every value
        ticks.append(round(v, 10))
        if v >= hi - step * 1e-9:
            return ticks
        v += step


def _open(width: int, height: int, title: str, extra_class: str = "") -> list[str]:
    cls = "chart" + (f" {extra_class}" if extra_class else "")
    return [f'<svg class="{cls}" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT}><title>{esc(title)}</title>',
            f'<text x="8" y="15" font-weight="bold" font-size="12">{esc(title)}</text>']


def _legend(names: list[str], x: int, y: int) -> list[str]:
    out = []
    for i, name in enumerate(names):
        yy = y + i * 15
        out.append(f'<rect x="{x}" y="{yy - 8}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{x + 14}" y="{yy + 1}">{esc(_short(name, 28))}</text>')
    return out


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _legend_row(names: list[str], left: int, spacing: int) -> list[str]:
    """The series' colours in one row above the plot (charts whose rows are labelled on the left)."""
    return [f'<rect x="{left + i * spacing}" y="22" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{left + i * spacing + 14}" y="31">{esc(n)}</text>' for i, n in enumerate(names)]


def _value_axis(ticks: list[float], vmax: float, left: int, pw: int, top: int, base_y: int, label: str) -> list[str]:
    """Vertical grid lines at the ticks of a horizontal value scale, their numbers below, and the scale's name."""
    out = []
    for t in ticks:
        x = left + t / vmax * pw
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{base_y}" stroke="#e4e4e4"/>'
                   f'<text x="{x:.1f}" y="{base_y + 14}" text-anchor="middle">{fmt(t)}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{base_y + 27}" text-anchor="middle" fill="#555">{esc(label)}</text>')
    return out


def _row_label(label: str, x: int, y: float) -> str:
    """A row's name at its left, shortened; the full name as its tooltip."""
    return f'<text x="{x}" y="{y:.1f}" text-anchor="end"><title>{esc(label)}</title>{esc(_short(label, 30))}</text>'


def line_chart(series: list[tuple[str, list[tuple[float, float]]]], title: str, y_label: str = "ms",
               x_label: str = "seconds since start", width: int = 760, height: int = 280,
               shift_x: bool = True, integer_x: bool = False) -> str:
    """Lines of (x, y) points, one per series; x is shifted so that the first point of all is 0 (shift_x); with
    integer_x (x counts runs) only whole ticks are drawn."""
    series = [(name, sorted(p for p in pts if p[1] is not None and math.isfinite(p[1]))) for name, pts in series]
    series = [(n, p) for n, p in series if p]
    if not series:
        return ""
    x0 = min(p[0][0] for _, p in series) if shift_x else 0.0
    xs = [x - x0 for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    left, right, top, bottom = 58, 190, 26, 36
    pw, ph = width - left - right, height - top - bottom
    xmax = max(xs) or 1.0
    yticks = nice_ticks(0, max(ys) or 1.0)
    ymax = yticks[-1] or 1.0

    def sx(x):
        return left + (x - x0) / xmax * pw

    def sy(y):
        return top + ph - y / ymax * ph

    out = _open(width, height, title)
    out += _axes(left, top, pw, ph, yticks, ymax, y_label)
    for t in nice_ticks(0, xmax):
        if t <= xmax and not (integer_x and t != int(t)):
            x = left + t / xmax * pw
            out.append(f'<line x1="{x:.1f}" y1="{top + ph}" x2="{x:.1f}" y2="{top + ph + 4}" stroke="#888"/>'
                       f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle">{fmt(t)}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#555">'
               f'{esc(x_label)}</text>')
    for i, (name, pts) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.6" points="{path}">'
                   f'<title>{esc(name)}</title></polyline>')
        if len(pts) <= 60:
            for x, y in pts:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.2" fill="{color}">'
                           f'<title>{esc(name)}: {fmt(y)} {esc(y_label)} at '
                           f'{"+" + fmt(x - x0) + "s" if shift_x else fmt(x) + " " + esc(x_label)}</title></circle>')
    out += _legend([n for n, _ in series], left + pw + 14, top + 8)
    out.append("</svg>")
    return "".join(out)


def _axes(left, top, pw, ph, yticks, ymax, y_label) -> list[str]:
    out = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    for t in yticks:
        y = top + ph - t / ymax * ph
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    out.append(f'<text x="12" y="{top + ph / 2:.1f}" transform="rotate(-90 12 {top + ph / 2:.1f})" '
               f'text-anchor="middle" fill="#555">{esc(y_label)}</text>')
    return out


def bar_chart(groups: list[tuple[str, list[float | None]]], series_names: list[str], title: str,
              unit: str = "ms", width: int = 760) -> str:
    """Horizontal grouped bars: one group per label (an action), one bar per series (p50, p95 ...)."""
    groups = [(label, vals) for label, vals in groups if any(v is not None for v in vals)]
    if not groups:
        return ""
    k = len(series_names)
    bar_h, gap = 9, 9
    group_h = k * bar_h + gap
    left, right, top = 190, 70, 44
    height = top + len(groups) * group_h + 30
    pw = width - left - right
    vmax = max(v for _, vals in groups for v in vals if v is not None) or 1.0
    ticks = nice_ticks(0, vmax)
    vmax = ticks[-1] or 1.0
    out = _open(width, height, title)
    if k > 1:
        out += _legend_row(series_names, left, 90)
    base_y = top + len(groups) * group_h
    out += _value_axis(ticks, vmax, left, pw, top, base_y, unit)
    for gi, (label, vals) in enumerate(groups):
        gy = top + gi * group_h
        out.append(_row_label(label, left - 6, gy + k * bar_h / 2 + 4))
        for si, v in enumerate(vals):
            if v is None:
                continue
            w = max(1.0, v / vmax * pw)
            out.append(f'<rect class="bar" x="{left}" y="{gy + si * bar_h}" width="{w:.1f}" height="{bar_h - 1}" '
                       f'fill="{PALETTE[si % len(PALETTE)]}"><title>{esc(label)} {esc(series_names[si])}: '
                       f'{fmt(v)} {esc(unit)}</title></rect>')
            if k == 1:
                out.append(f'<text x="{left + w + 4:.1f}" y="{gy + bar_h - 1}">{fmt(v)}</text>')
    out.append("</svg>")
    return "".join(out)


def distribution_chart(rows: list[tuple[str, list[tuple[str, dict]]]], title: str, unit: str = "ms",
                       width: int = 760) -> str:
    """Box plots side by side per label: each entry (series name, {p5, p25, p50, p75, p95})."""
    rows = [(label, [(n, d) for n, d in entries if d]) for label, entries in rows]
    rows = [(label, entries) for label, entries in rows if entries]
    if not rows:
        return ""
    names = []
    for _, entries in rows:
        for n, _ in entries:
            if n not in names:
                names.append(n)
    box_h, gap = 12, 12
    group_h = len(names) * (box_h + 3) + gap
    left, right, top = 190, 40, 44
    height = top + len(rows) * group_h + 30
    pw = width - left - right
    vmax = max(d["p95"] for _, entries in rows for _, d in entries) or 1.0
    ticks = nice_ticks(0, vmax)
    vmax = ticks[-1] or 1.0
    out = _open(width, height, title) + _legend_row(names, left, 110)
    base_y = top + len(rows) * group_h
    out += _value_axis(ticks, vmax, left, pw, top, base_y, f"{unit} (box p25-p75, line p50, whiskers p5-p95)")

    def sx(v):
        return left + v / vmax * pw

    for gi, (label, entries) in enumerate(rows):
        gy = top + gi * group_h
        out.append(_row_label(label, left - 6, gy + len(names) * (box_h + 3) / 2 + 3))
        for n, d in entries:
            i = names.index(n)
            y = gy + i * (box_h + 3)
            c = PALETTE[i % len(PALETTE)]
            mid = y + box_h / 2
            tip = (f"{label} {n}: p5 {fmt(d['p5'])}, p25 {fmt(d['p25'])}, p50 {fmt(d['p50'])}, "
                   f"p75 {fmt(d['p75'])}, p95 {fmt(d['p95'])} {unit}")
            out.append(f'<g class="box"><title>{esc(tip)}</title>'
                       f'<line x1="{sx(d["p5"]):.1f}" y1="{mid:.1f}" x2="{sx(d["p95"]):.1f}" y2="{mid:.1f}" '
                       f'stroke="{c}"/>'
                       f'<rect x="{sx(d["p25"]):.1f}" y="{y}" width="{max(1.0, sx(d["p75"]) - sx(d["p25"])):.1f}" '
                       f'height="{box_h}" fill="{c}" fill-opacity="0.35" stroke="{c}"/>'
                       f'<line x1="{sx(d["p50"]):.1f}" y1="{y}" x2="{sx(d["p50"]):.1f}" y2="{y + box_h}" '
                       f'stroke="{c}" stroke-width="2.5"/></g>')
    out.append("</svg>")
    return "".join(out)


def ratio_chart(rows: list[dict], threshold: float, title: str, width: int = 760,
                note: str = "current / baseline (interval: Bonferroni-adjusted, block bootstrap)") -> str:
    """Per action: the ratio cur/base of the compared quantile with its interval, against 1 and 1+threshold.

    rows: {label, ratio, low, high, verdict}; rows without a ratio are left out.
    """
    rows = [r for r in rows if r.get("ratio") is not None]
    if not rows:
        return ""
    row_h = 22
    left, right, top = 190, 60, 34
    height = top + len(rows) * row_h + 32
    pw = width - left - right
    finite = [v for r in rows for v in (r["ratio"], r.get("low"), r.get("high")) if v is not None and
              math.isfinite(v)]
    lo = min(finite + [1 / (1 + threshold)]) * 0.95
    hi = max(finite + [1 + threshold]) * 1.05
    lo, hi = max(0.0, lo), min(hi, 10.0)

    def sx(v):
        v = min(max(v, lo), hi)
        return left + (v - lo) / (hi - lo) * pw

    out = _open(width, height, title)
    base_y = top + len(rows) * row_h
    for t in nice_ticks(lo, hi, 6):
        if lo <= t <= hi:
            out.append(f'<line x1="{sx(t):.1f}" y1="{top - 4}" x2="{sx(t):.1f}" y2="{base_y}" stroke="#eee"/>'
                       f'<text x="{sx(t):.1f}" y="{base_y + 14}" text-anchor="middle">{fmt(t)}\u00d7</text>')
    out.append(f'<line x1="{sx(1):.1f}" y1="{top - 6}" x2="{sx(1):.1f}" y2="{base_y}" stroke="#333"/>')
    for v, name in ((1 + threshold, "threshold"), (1 / (1 + threshold), "")):
        out.append(f'<line class="threshold" x1="{sx(v):.1f}" y1="{top - 6}" x2="{sx(v):.1f}" y2="{base_y}" '
                   f'stroke="#d62728" stroke-dasharray="4 3"><title>{esc(name or "threshold (faster)")} '
                   f'{fmt(v)}\u00d7</title></line>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{base_y + 28}" text-anchor="middle" fill="#555">{esc(note)}'
               '</text>')
    colors = {"regression": "#d62728", "more failures": "#d62728", "faster": "#2ca02c", "possibly slower": "#ff7f0e",
              "inconclusive": "#ff7f0e"}
    for i, r in enumerate(rows):
        y = top + i * row_h + row_h / 2
        c = colors.get(r.get("verdict"), "#1f77b4")
        out.append(_row_label(r["label"], left - 6, y + 4))
        tip = f"{r['label']}: {fmt(r['ratio'])}\u00d7"
        if r.get("low") is not None and r.get("high") is not None:
            tip += f" [{fmt(r['low'])}, {fmt(r['high'])}]"
            out.append(f'<line x1="{sx(r["low"]):.1f}" y1="{y:.1f}" x2="{sx(r["high"]):.1f}" y2="{y:.1f}" '
                       f'stroke="{c}" stroke-width="3"/>')
        out.append(f'<circle class="ratio" cx="{sx(r["ratio"]):.1f}" cy="{y:.1f}" r="4.5" fill="{c}">'
                   f'<title>{esc(tip)} {esc(r.get("verdict", ""))}</title></circle>')
    out.append("</svg>")
    return "".join(out)
