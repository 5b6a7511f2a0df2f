"""The two kinds of failure the harness distinguishes, and the exit codes they map to.

0: the target passed. 1: the target failed a check or a gate. 2: the harness could not run.
"""

EXIT_PASS = 0
EXIT_TARGET_FAILED = 1
EXIT_HARNESS_ERROR = 2


class HarnessError(Exception):
    """The harness could not do its job (bad input, unreachable target, missing dependency).

    The message is one line, shown to the user as is; never a target verdict.
    """

    exit_code = EXIT_HARNESS_ERROR

    def __init__(self, message: str):
        from hgharness.secrets import redact

        super().__init__(redact(" ".join(str(message).split())))


class TargetFailure(Exception):
    """The target did something it must not (a check or gate failed)."""

    exit_code = EXIT_TARGET_FAILED
