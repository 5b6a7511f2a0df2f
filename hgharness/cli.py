"""The `hgharness` command. It only parses and dispatches: each command lives in its own module.

Exit codes, for every command: 0 the target passed, 1 the target failed a check or a gate,
2 the harness could not run (bad input, unreachable target, missing dependency) with a one-line message.
"""

from __future__ import annotations

import argparse
import os
import sys

from hgharness import __version__

# The CLI entry is the one core module that imports the layers: it wires their commands, their stages and
# the two services the run pipeline needs from them (fixture repositories, the report) into the core.
from hgharness.commands import check, run, serve
from hgharness.errors import EXIT_HARNESS_ERROR, HarnessError, TargetFailure
from hgharness.fixtures import cli as fixtures_cli
from hgharness.fixtures import traffic_cli, traffic_ssh
from hgharness.fixtures.sets import fixture_repos
from hgharness.load import cli as load_cli
from hgharness.load import slo
from hgharness.reports import cli as reports_cli
from hgharness.reports.html import build_report
from hgharness.secrets import redact
from hgharness.session import Layers, Stage
from hgharness.suites import fleet as suite_fleet
from hgharness.suites import stages as suite_stages
from hgharness.suites.functional import command as functional_cli
from hgharness.suites.functional import stage as functional_stage
from hgharness.suites.support import coverage as suite_coverage

LAYERS = Layers(fixture_repos=fixture_repos, build_report=build_report, coverage=suite_coverage.command,
                read_gates=slo.read_gates, stages={
    "headless": Stage(suite_stages.stage_headless, "headless HTTP checks"),
    "functional": Stage(functional_stage.stage_functional, "browser flows in headless Chromium (or a Grid), -n 2"),
    "traffic": Stage(traffic_cli.stage_traffic, "concurrent clone/pull/push, then no pushed changeset lost"),
    "ssh": Stage(traffic_ssh.stage_ssh, "Mercurial over SSH (the embedded hgweb's own sshd, or the target's "
                 "ssh_url): handshake, clone, read-only key, unknown repository, then clone/pull/push traffic"),
    "load": Stage(load_cli.stage_load, "a short mixed Locust load run judged by the SLO gates (--slo)"),
    "capacity": Stage(load_cli.stage_capacity, "a short capacity search (1, 2, 4 readers, 6 s each): "
                      "requests/s within the SLO and the knee"),
    "fleet": Stage(suite_fleet.stage_fleet, "the target's backends (--backend URL, or --front haproxy --backends "
                   "N), each asked directly: tips, pages, raw files, capabilities, version and speed compared "
                   "node against node (skipped without backends)"),
})

# command -> (module with add_arguments(parser) and main(args) -> int, one-line help). A command finds the
# wiring in args.layers (also the parser's default, for add_arguments).
COMMANDS = {
    "run": (run, "the main job: checks, browser flows, load, push traffic, one report"),
    "serve": (serve, "start an embedded target on loopback and wait"),
    "check": (check, "run the headless HTTP check suites against a target"),
    "functional": (functional_cli, "run the browser flows (headless Chromium or a Selenium Grid)"),
    "report": (reports_cli, "build, serve, validate a run's report; compare two runs (exit 1 on a regression)"),
    "traffic": (traffic_cli, "concurrent clone/pull/push over HTTP or SSH, then prove no push was lost"),
    "load": (load_cli, "a Locust load profile (user mix, shape, workers) judged by SLO gates"),
    "fixtures": (fixtures_cli, "analyze a repository into a profile, generate repositories from it, compare them"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_HARNESS_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hgharness", description="Functional and load testing harness for Mercurial hosting "
                     "sites. Exit status: 0 target passed, 1 target failed, 2 harness could not run.")
    parser.add_argument("--version", action="version", version=f"hgharness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (mod, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.set_defaults(_module=mod, layers=LAYERS)
        mod.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hgharness.procs import install_signal_handlers, interrupt_status, stop_all
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
    except KeyboardInterrupt as e:  # Ctrl-C, SIGTERM, SIGHUP: 128 + the signal, as shells report it
        print(f"hgharness {args.command}: interrupted; stopped everything it started", file=sys.stderr)
        return interrupt_status(e)
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
