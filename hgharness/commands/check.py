"""Run the headless HTTP check suites (suites/headless, suites/security) against a target.

Same options and exit codes as `run`, limited to the headless stage.
"""

from hgharness.commands import run as run_cmd


def add_arguments(p):
    run_cmd.add_arguments(p)
    p.set_defaults(stages="headless")


def main(args) -> int:
    args.stages = "headless"
    return run_cmd.main(args)
