"""Look at runs: rebuild a run's report, serve it on loopback, validate its summary, compare two runs.

    hgharness report build RUN_DIR                 (re)write RUN_DIR/index.html
    hgharness report serve RUN_DIR [--port N]      http://127.0.0.1:N/ until Ctrl-C
    hgharness report validate RUN_DIR...           summary.json against reports/summary.schema.json
    hgharness report compare BASE... CUR [--out F] per-action latency verdicts; exit 1 on a regression
    hgharness report history [RUNS_DIR] [--out F]  one page across runs: verdicts, builds, trends, flaky checks

compare reads the raw latency samples each run kept in RUN_DIR/samples/ (reports/samples.py), writes
compare.html and compare.json (into CUR, or --out), prints a table, and exits 1 only when an action is slower
beyond the threshold with statistical confidence (see reports/compare.py for the rule).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hgharness.errors import HarnessError


def add_arguments(p):
    sub = p.add_subparsers(dest="report_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="(re)build RUN_DIR/index.html")
    b.add_argument("run_dir", metavar="RUN_DIR")
    s = sub.add_parser("serve", help="serve a run directory on 127.0.0.1 until Ctrl-C")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--port", type=int, default=8008, help="port on 127.0.0.1 (default 8008; 0 picks a free one)")
    s.add_argument("--no-build", action="store_true", help="serve index.html as it is, without rebuilding it")
    v = sub.add_parser("validate", help="check summary.json against the documented schema")
    v.add_argument("run_dirs", metavar="RUN_DIR", nargs="+")
    c = sub.add_parser("compare", help="compare the latency of two runs; exit 1 on a significant regression")
    c.add_argument("base", metavar="BASE", nargs="+",
                   help="baseline run directory; several: their spread measures the run-to-run noise")
    c.add_argument("cur", metavar="CUR", help="current run directory")
    c.add_argument("--out", help="HTML file to write (default CUR/compare.html; compare.json beside it)")
    c.add_argument("--threshold", type=float, default=10.0,
                   help="smallest slowdown that fails, in percent of the baseline (default 10)")
    c.add_argument("--min-ms", type=float, default=1.0, help="smallest slowdown that fails, in ms (default 1)")
    c.add_argument("--alpha", type=float, default=0.01,
                   help="family-wise false-alarm rate across all actions (default 0.01)")
    c.add_argument("--min-samples", type=int, default=30, help="samples needed on each side (default 30)")
    c.add_argument("--quantile", type=float, default=50.0, help="the percentile compared (default 50: median)")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0; verdicts are reproducible)")
    h = sub.add_parser("history", help="one page across the runs of a runs directory: verdicts, builds, p50/p95 "
                       "and capacity trends, flaky checks, the last passing run per target")
    h.add_argument("runs_dir", metavar="RUNS_DIR", nargs="?",
                   default=os.environ.get("HGHARNESS_RUNS_DIR", "reports/runs"),
                   help="the runs directory (default HGHARNESS_RUNS_DIR, else reports/runs)")
    h.add_argument("--out", help="HTML file to write (default RUNS_DIR/history.html; history.json beside it)")


def main(args) -> int:
    return {"build": _build, "serve": _serve, "validate": _validate, "compare": _compare,
            "history": _history}[args.report_command](args)


def _run_dir(path: str) -> Path:
    d = Path(path)
    if not d.is_dir():
        raise HarnessError(f"run directory {path} does not exist")
    return d


def _build(args) -> int:
    from hgharness.reports.html import build_report

    print(build_report(_run_dir(args.run_dir)))
    return 0


def _serve(args) -> int:
    from hgharness.reports.serve import serve

    d = _run_dir(args.run_dir)
    if not args.no_build:
        from hgharness.reports.html import build_report

        build_report(d)
    serve(d, port=args.port)
    return 0


def _validate(args) -> int:
    from hgharness.reports.schema import validate_summary

    bad = 0
    for path in args.run_dirs:
        d = _run_dir(path)
        try:
            summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
        except OSError as e:
            raise HarnessError(f"cannot read {d / 'summary.json'}: {e.strerror}") from None
        except ValueError as e:
            raise HarnessError(f"{d / 'summary.json'} is not JSON: {e}") from None
        errors = validate_summary(summary)
        print(f"{d / 'summary.json'}: " + ("valid" if not errors else f"{len(errors)} problem(s)"))
        for err in errors[:50]:
            print(f"  {err}")
        bad += bool(errors)
    # an invalid summary is the harness's fault, not the target's
    return 2 if bad else 0


def _compare(args) -> int:
    from hgharness.reports.compare import Settings, compare_runs, text_table
    from hgharness.reports.html import render_compare
    from hgharness.rundir import write_json

    if not 0 < args.quantile < 100:
        raise HarnessError("--quantile is a percentile between 0 and 100, e.g. 50 or 95")
    if args.threshold < 0 or args.min_ms < 0 or not 0 < args.alpha < 1 or args.min_samples < 2:
        raise HarnessError("--threshold and --min-ms must be >= 0, --alpha in (0, 1), --min-samples >= 2")
    settings = Settings(threshold=args.threshold / 100, min_abs_ms=args.min_ms, alpha=args.alpha,
                        min_samples=args.min_samples, quantile=args.quantile / 100, seed=args.seed)
    result = compare_runs([_run_dir(b) for b in args.base], _run_dir(args.cur), settings)
    out = Path(args.out) if args.out else Path(args.cur) / "compare.html"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_compare(result), encoding="utf-8")
        write_json(out.with_suffix(".json"), result)
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror}") from None
    print(text_table(result))
    print(f"report: {out}")
    return result["exit_code"]


def _history(args) -> int:
    """Exit 0 whatever the runs say (the page reports, it does not judge); 2 on a missing or empty RUNS_DIR."""
    from hgharness.reports.history import as_json, history, render, text_lines
    from hgharness.rundir import write_json

    h = history(args.runs_dir)
    out = Path(args.out) if args.out else Path(args.runs_dir) / "history.html"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(h, out), encoding="utf-8")
        write_json(out.with_suffix(".json"), as_json(h))
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror}") from None
    print("\n".join(text_lines(h)))
    print(f"history: {out}")
    return 0
