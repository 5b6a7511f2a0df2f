"""The two sides of an A/B task: one pair id, both targets back to back in a random order.

Kept apart from the user classes (load/users.py, load/hguser.py), which both use it.
"""

from __future__ import annotations

import itertools
import os
import random

from hgharness.load.ab import SIDE

_pairs = itertools.count(1)


def pair_id() -> str:
    """An id for the two sides of one A/B task, unique across the Locust processes of a run."""
    return f"{os.getpid()}-{next(_pairs)}"


class BaselineEvents:
    """The request event as the baseline's client fires it: the same, with request_type marked "baseline ..."."""

    def __init__(self, event):
        self.event = event

    def fire(self, **kw):
        kw["request_type"] = SIDE + kw["request_type"]
        self.event.fire(**kw)


def paired(first, second, do) -> None:
    """do(side, context) for both sides of an A/B task, back to back in a random order (neither always goes first
    and meets warmer or colder caches), under one pair id; for the candidate alone when there is no baseline.

    Back to back rather than at once: two requests at the same instant compete for the same cores, so a
    candidate that burns more CPU would slow its own baseline request and hide part of its regression."""
    if second is None:
        do(first, None)
        return
    context = {"pair": pair_id()}
    for side in (first, second) if random.random() < 0.5 else (second, first):
        do(side, context)
