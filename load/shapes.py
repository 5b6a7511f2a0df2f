"""Load shapes as stages: how many users, spawned how fast, until when. Always bounded.

A shape is a list of stages (until_s, users, spawn_rate), built from the run's --users N, --spawn-rate R and
--duration D; load/locustfile.py's HarnessShape (a Locust LoadTestShape) plays it and returns None, ending the
test, once D has passed. Every shape stops at D, and neither users nor duration can exceed the hard caps.

    constant  N users (spawned at R/s) until D
    ramp      users grow linearly from 0 to N over the first half of D, then hold N
    step      N/4, N/2, 3N/4, N users, each for a quarter of D (spawned at R/s)
    spike     a baseline of N/5 users; N users (spawned within about a second) during the middle fifth of D;
              back to the baseline: does the site recover?
    soak      N users (spawned at R/s) held for a long D (default one hour): leaks, slow degradation
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hgharness.errors import HarnessError

MAX_USERS = 5000
MAX_DURATION_S = 24 * 3600
DEFAULT_DURATION_S = {"soak": 3600}
FALLBACK_DURATION_S = 60
SHAPES = ("constant", "ramp", "step", "spike", "soak")


class Stage(NamedTuple):
    until_s: float
    users: int
    spawn_rate: float


def parse_duration(text) -> int:
    """'90', '90s', '5m', '1h30m' -> seconds: Locust's --run-time syntax (locust.util.timespan.parse_timespan,
    which tests/test_load_units.py holds this to), forgiving case and spaces.

    Not imported from Locust: importing any locust module runs locust/__init__.py, which monkey-patches the whole
    process for gevent (threads, subprocess, sockets) and costs about a second; this runs in the harness's own
    process, which only starts Locust as a child.
    """
    if isinstance(text, (int, float)):
        return int(text)
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+", s):
        return int(s)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", s)
    if not s or not m:
        raise HarnessError(f"bad duration {text!r}: use seconds or e.g. 90s, 5m, 1h30m")
    h, mi, se = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + se


def check_bounds(users: int, spawn_rate: float, duration_s: float) -> None:
    if not 1 <= users <= MAX_USERS:
        raise HarnessError(f"--users must be between 1 and {MAX_USERS}, not {users}")
    if not spawn_rate > 0:
        raise HarnessError(f"--spawn-rate must be above 0, not {spawn_rate}")
    if not 1 <= duration_s <= MAX_DURATION_S:
        raise HarnessError(f"--duration must be between 1s and {MAX_DURATION_S}s, not {duration_s}s")


def plan(shape: str, users: int, spawn_rate: float, duration_s: float) -> list[Stage]:
    if shape not in SHAPES:
        raise HarnessError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    check_bounds(users, spawn_rate, duration_s)
    n, r, d = users, spawn_rate, float(duration_s)
    if shape in ("constant", "soak"):
        return [Stage(d, n, r)]
    if shape == "ramp":
        half = d / 2
        return [Stage(half, n, n / half), Stage(d, n, r)]
    if shape == "step":
        return [Stage(d * k / 4, max(1, round(n * k / 4)), r) for k in (1, 2, 3, 4)]
    base = max(1, n // 5)
    fast = max(r, float(n))
    return [Stage(d * 0.4, base, r), Stage(d * 0.6, n, fast), Stage(d, base, fast)]


def at(stages: list[Stage], t: float) -> tuple[int, float] | None:
    """(users, spawn_rate) at run time t; None once the last stage is over (the test then stops)."""
    for stage in stages:
        if t < stage.until_s:
            return min(stage.users, MAX_USERS), stage.spawn_rate
    return None


def default_duration(shape: str) -> int:
    return DEFAULT_DURATION_S.get(shape, FALLBACK_DURATION_S)
