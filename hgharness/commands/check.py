"""Run the headless HTTP check suites (suites/headless, suites/security) against a target.

Same options and exit codes as `run`, limited to the headless stage. With --coverage, print the coverage table
instead (every route of the site in every representation, and which checks assert its status, content, freshness
and response policy; routes without a content oracle by name) and start nothing.
"""

from hgharness.commands import run as run_cmd


def add_arguments(p):
    run_cmd.add_arguments(p)
    p.set_defaults(stages="headless")
    p.add_argument("--coverage", action="store_true", help="print the coverage table of the target's site (routes "
                   "x representations x status/content/freshness/policy) and exit; nothing is started or requested")


def main(args) -> int:
    if getattr(args, "coverage", False):
        return args.layers.coverage(args)
    args.stages = "headless"
    return run_cmd.main(args)
