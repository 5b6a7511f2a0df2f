"""The `hgharness` command. It only parses and dispatches: each command lives in its own module.

Exit codes, for every command: 0 the target passed, 1 the target failed a check or a gate,
2 the harness could not run (bad input, unreachable target, missing dependency) with a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from hgharness import __version__
from hgharness.errors import EXIT_HARNESS_ERROR, HarnessError, TargetFailure
from hgharness.secrets import redact

# command -> (module with add_arguments(parser) and main(args) -> int, one-line help)
COMMANDS = {
    "run": ("hgharness.commands.run", "the main job: checks, browser flows, load, push traffic, one report"),
    "serve": ("hgharness.commands.serve", "start an embedded target on loopback and wait"),
    "check": ("hgharness.commands.check", "run the headless HTTP check suites against a target"),
    "functional": ("hgharness.suites.functional.command", "run the browser flows (headless Chromium or a Selenium Grid)"),
    "report": ("hgharness.reports.cli", "build, serve, validate a run's report; compare two runs (exit 1 on a regression)"),
    "traffic": ("hgharness.fixtures.traffic_cli", "concurrent clone/pull/push over HTTP, then prove no push was lost"),
    "load": ("hgharness.load.cli", "a Locust load profile (user mix, shape, workers) judged by SLO gates"),
    "fixtures": ("hgharness.fixtures.cli", "analyze a repository into a profile, generate repositories from it, list sets"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_HARNESS_ERROR, f"{self.prog}: error: {message}\n")


def add_target_arguments(p: argparse.ArgumentParser, embedded_default: bool = True) -> None:
    g = p.add_argument_group("target")
    g.add_argument("--target", "-t", help="URL of the site, or a name in targets.toml (env HGHARNESS_TARGET)"
                   + ("; default: start the embedded target" if embedded_default else ""))
    g.add_argument("--site", help="site flavour: hgweb or kallithea (env HGHARNESS_SITE; default hgweb)")
    g.add_argument("--config", help="targets file (env HGHARNESS_CONFIG; default ./targets.toml)")
    g.add_argument("--username", help="user for authenticated operations (env HGHARNESS_USERNAME); "
                   "the password comes from HGHARNESS_PASSWORD or the config file, never the command line")
    g.add_argument("--ca-bundle", help="CA certificates file for an https target with a private CA")
    g.add_argument("--insecure", action="store_true", default=None,
                   help="do not verify TLS certificates (reported as a warning)")
    g.add_argument("--allow-load", action="store_true", default=None,
                   help="allow load traffic to a non-loopback target you own")


def add_run_dir_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--runs-dir", default=os.environ.get("HGHARNESS_RUNS_DIR", "reports/runs"),
                   help="where run directories go (default reports/runs)")
    g.add_argument("--run-id", help="name of the run directory (default: timestamp)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hgharness", description="Functional and load testing harness for Mercurial hosting "
                     "sites. Exit status: 0 target passed, 1 target failed, 2 harness could not run.")
    parser.add_argument("--version", action="version", version=f"hgharness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hgharness.procs import install_signal_handlers, stop_all
    from hgharness.secrets import install_log_filter

    install_signal_handlers()
    install_log_filter()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return EXIT_HARNESS_ERROR
    try:
        return int(args._module.main(args) or 0)
    except HarnessError as e:
        print(f"hgharness {args.command}: {e}", file=sys.stderr)
        return e.exit_code
    except TargetFailure as e:  # the target broke what the command does: its verdict, in one line
        print(f"hgharness {args.command}: target FAILED: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"hgharness {args.command}: interrupted; stopped everything it started", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_HARNESS_ERROR
    except Exception as e:  # a harness bug: still one line, never a target verdict
        if os.environ.get("HGHARNESS_DEBUG"):
            raise
        print(redact(f"hgharness {args.command}: internal error: {type(e).__name__}: {e} "
                     "(set HGHARNESS_DEBUG=1 for the traceback)"), file=sys.stderr)
        return EXIT_HARNESS_ERROR
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
