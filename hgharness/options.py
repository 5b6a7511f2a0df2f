"""Command-line options shared by the CLI, its commands and the layers' commands, and how to build a Target
from them. Every command that aims at a target takes the same target options, spelled here once."""

from __future__ import annotations

import argparse
import os

from hgharness.target import Target

TARGET_OPTION_NAMES = ("target", "site", "config", "username", "ca_bundle", "insecure", "allow_load",
                       "allow_destructive", "request_deadline", "max_response_mb", "ssh_url", "ssh_key",
                       "ssh_known_hosts", "backends")


def target_from_namespace(ns, **overrides) -> Target:
    kwargs = {name: getattr(ns, name, None) for name in TARGET_OPTION_NAMES}
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return Target.from_options(**kwargs)


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
    g.add_argument("--allow-destructive", action="store_true", default=None,
                   help="allow checks and pushes that change state on a non-loopback target you own "
                   "(env HGHARNESS_ALLOW_DESTRUCTIVE; without it only the nondestructive subset runs there)")
    g.add_argument("--request-deadline", type=positive_number, metavar="S",
                   help="seconds for the whole answer to any one request, however slowly the site sends it "
                   "(env HGHARNESS_REQUEST_DEADLINE; default 120)")
    g.add_argument("--max-response-mb", type=positive_number, metavar="MB",
                   help="the largest answer body read from the site, in MiB; a larger one fails its request "
                   "(env HGHARNESS_MAX_RESPONSE_MB; default 64)")
    g.add_argument("--ssh-url", metavar="URL", help="Mercurial over SSH: ssh://[user@]host[:port]/ that the "
                   "repositories are under (env HGHARNESS_SSH_URL; the embedded hgweb makes its own)")
    g.add_argument("--ssh-key", metavar="FILE", help="the private key for --ssh-url (env HGHARNESS_SSH_KEY)")
    g.add_argument("--ssh-known-hosts", metavar="FILE", help="known_hosts holding the SSH host's key, which is "
                   "verified, never accepted blindly (env HGHARNESS_SSH_KNOWN_HOSTS)")
    g.add_argument("--backend", dest="backends", action="append", metavar="URL",
                   help="a node behind --target's balancer, reached directly (repeat for each; env "
                   "HGHARNESS_BACKENDS, comma-separated; backends = [...] in targets.toml): `run` compares what "
                   "every node serves and names one that differs, fails or is much slower")


def add_baseline_argument(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("A/B comparison")
    g.add_argument(
        "--server-wrap", metavar="MODULE:CALLABLE", default=None,
        help="wrap the embedded hgweb target (not the baseline) in this WSGI middleware, a callable taking the "
        "app and returning one: a build to measure against the plain one with --baseline embedded")
    g.add_argument(
        "--baseline", metavar="URL|NAME|embedded|last-passing",
        help="measure the target against this baseline in the same run (e.g. the production build): every load "
        "task runs on both, and a candidate proven slower than the baseline (or failing more) fails; 'embedded' "
        "starts a second embedded target beside the first; 'last-passing' is the URL of this target's last "
        "passing run in --runs-dir (env HGHARNESS_BASELINE)",
        default=os.environ.get("HGHARNESS_BASELINE") or None)


def add_slo_argument(p, help_text: str = "SLO gates file (default load/slo.toml)") -> None:
    """--slo FILE, spelled once for `run`, `load` and `traffic` (env HGHARNESS_SLO): the gates every stage of one
    run judges its figures by, absolute ceilings and A/B alike."""
    p.add_argument("--slo", metavar="FILE", default=os.environ.get("HGHARNESS_SLO") or None,
                   help=help_text + " (env HGHARNESS_SLO)")


def add_run_dir_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--runs-dir", default=os.environ.get("HGHARNESS_RUNS_DIR", "reports/runs"),
                   help="where run directories go (default reports/runs)")
    g.add_argument("--run-id", help="name of the run directory (default: timestamp)")
    g.add_argument("--build-id", metavar="TEXT", default=os.environ.get("HGHARNESS_BUILD_ID") or None,
                   help="the build of the site under test (a version, a commit, a CI build number), recorded in "
                   "summary.json; `report history` groups runs by it (env HGHARNESS_BUILD_ID)")


def positive_number(text: str) -> float:
    """argparse type of a positive number (seconds, MiB)."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return number


def port_number(text: str) -> int:
    """argparse type of a TCP port: 0 (a free one) to 65535, refused in one line before anything starts."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535; 0 picks a free one)")
    return port
