"""Secrets never appear in logs, reports or exceptions.

A Secret masks itself in str/repr/format; every secret seen is also registered so that `redact()` can scrub
any text (subprocess output, exception messages, report files) before it is written anywhere.
"""

import logging
import os

MASK = "********"
_known: set[str] = set()

# Environment variables whose values are secrets: registered at import so children inherit the scrubbing.
SECRET_ENV_VARS = ("HGHARNESS_PASSWORD", "HGHARNESS_API_KEY")


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self):
        return bool(self._value)

    def __eq__(self, other):
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self):
        return hash(self._value)

    def __repr__(self):
        return "Secret(%s)" % MASK

    __str__ = lambda self: MASK  # noqa: E731

    def __format__(self, spec):
        return MASK

    def __reduce__(self):
        # pickling (pytest-xdist, multiprocessing) keeps the value but never prints it
        return (Secret, (self._value,))


def register(value: str | None) -> None:
    if value and len(value) >= 3:
        _known.add(value)


def redact(text):
    """Replace every known secret in text (str or bytes) by the mask."""
    if not _known or text is None:
        return text
    if isinstance(text, bytes):
        for s in sorted(_known, key=len, reverse=True):
            text = text.replace(s.encode(), MASK.encode())
        return text
    text = str(text)
    for s in sorted(_known, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record):
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def install_log_filter() -> None:
    f = RedactingFilter()
    root = logging.getLogger()
    root.addFilter(f)
    for h in root.handlers:
        h.addFilter(f)


for _name in SECRET_ENV_VARS:
    register(os.environ.get(_name))
