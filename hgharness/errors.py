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
    """The target did something it must not (a check or gate failed).

    Raised where the harness cannot carry on because of what the target answered (a clone whose stream breaks
    off, a server error in the middle of a preflight): one line, exit 1, never "the harness could not run".
    """

    exit_code = EXIT_TARGET_FAILED

    def __init__(self, message: str):
        from hgharness.secrets import redact

        super().__init__(redact(" ".join(str(message).split())))


# What Mercurial says when the *request* was wrong (credentials, repository name, URL): bad input, exit 2.
# Anything else a reachable site makes Mercurial abort with (a stream that ends early, an HTTP 500, a
# malformed bundle) is the site's failure.
BAD_INPUT_MARKERS = ("authorization failed", "authorization required", "not found", "http error 401",
                     "http error 403", "http error 404", "does not appear to be an hg repository",
                     "unknown url", "no suitable response", "certificate", "ssl", "tls")


def is_bad_input(text: str) -> bool:
    low = text.lower()
    return any(m in low for m in BAD_INPUT_MARKERS)
