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
    capacity  a search: 1, 2, 4 ... up to N users with no pause between tasks, each level an equal slice of D,
              until the SLO breaks or throughput stops growing (CapacitySearch); reports the highest throughput
              that held the SLO and the knee
    daily     a derived mix's day (`hgharness load derive`: its arrival rate per quarter hour) compressed into D,
              from 00:00: N users at the day's peak, N x the relative rate at every other part (at least 1);
              parts merged so that each stage lasts DAILY_MIN_STEP_S at least
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hgharness.errors import HarnessError

MAX_USERS = 5000
MAX_DURATION_S = 24 * 3600
DEFAULT_DURATION_S = {"soak": 3600}
FALLBACK_DURATION_S = 60
SHAPES = ("constant", "ramp", "step", "spike", "soak", "capacity", "daily")
CAPACITY_MIN_STEP_S = 6  # a level shorter than this measures its own ramp-up more than its throughput
DAILY_MIN_STEP_S = 2     # the daily shape's shortest stage: Locust's shape ticks once a second


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


def plan(shape: str, users: int, spawn_rate: float, duration_s: float,
         curve: list[float] | None = None) -> list[Stage]:
    """The stages of `shape`; the daily shape plays `curve` (a derived mix's daily.rate)."""
    if shape not in SHAPES:
        raise HarnessError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    check_bounds(users, spawn_rate, duration_s)
    n, r, d = users, spawn_rate, float(duration_s)
    if shape == "daily":
        if not curve:
            raise HarnessError("the daily shape replays a derived mix's day: this mix has no daily curve (derive "
                               "one from access logs: hgharness load derive ACCESS_LOG -o mymix.toml, then "
                               "--mix-file mymix.toml)")
        return daily(curve, n, r, d)
    if shape in ("constant", "soak"):
        return [Stage(d, n, r)]
    if shape == "capacity":
        levels = capacity_levels(n)
        step = d / len(levels)
        if step < CAPACITY_MIN_STEP_S:
            raise HarnessError(f"--duration {duration_s}s is too short for a capacity search of {len(levels)} "
                               f"levels (1 to {n} users): give each level {CAPACITY_MIN_STEP_S}s at least "
                               f"(--duration {len(levels) * CAPACITY_MIN_STEP_S}s or more)")
        return [Stage(step * (i + 1), u, max(r, float(u))) for i, u in enumerate(levels)]
    if shape == "ramp":
        half = d / 2
        return [Stage(half, n, n / half), Stage(d, n, r)]
    if shape == "step":
        return [Stage(d * k / 4, max(1, round(n * k / 4)), r) for k in (1, 2, 3, 4)]
    base = max(1, n // 5)
    fast = max(r, float(n))
    return [Stage(d * 0.4, base, r), Stage(d * 0.6, n, fast), Stage(d, base, fast)]


def daily(curve: list[float], users: int, spawn_rate: float, duration_s: float) -> list[Stage]:
    """The day of `curve` (relative rates, peak 1.0) in duration_s: adjacent parts merged (by a divisor of
    their count) until a stage lasts DAILY_MIN_STEP_S; each stage's users spawned within half of it."""
    parts = len(curve)
    per = next((k for k in range(1, parts + 1) if parts % k == 0 and duration_s * k / parts >= DAILY_MIN_STEP_S),
               parts)
    groups = [curve[i:i + per] for i in range(0, parts, per)]
    top = max(sum(g) / len(g) for g in groups) or 1.0
    step = duration_s / len(groups)
    out, prev = [], 0
    for k, g in enumerate(groups):
        u = min(MAX_USERS, max(1, round(users * (sum(g) / len(g)) / top)))
        out.append(Stage(step * (k + 1), u, max(spawn_rate, abs(u - prev) / max(step / 2, 0.5))))
        prev = u
    return out


def at(stages: list[Stage], t: float) -> tuple[int, float] | None:
    """(users, spawn_rate) at run time t; None once the last stage is over (the test then stops)."""
    for stage in stages:
        if t < stage.until_s:
            return min(stage.users, MAX_USERS), stage.spawn_rate
    return None


def capacity_levels(users: int) -> list[int]:
    """1, 2, 4, ... doubling up to `users` (which is always the last level)."""
    levels, u = [], 1
    while u < users:
        levels.append(u)
        u *= 2
    return levels + [users]


class CapacitySearch:
    """The capacity shape's stop rule, played by load/locustfile.py on the stages of plan("capacity", ...).

    At the end of each level, `measure(start_s, end_s)` gives that level's steady part (its first STEADY_SKIP of
    time, the ramp-up, left out): {"rps", "p95_ms", "error_rate", "count"}. The search stops after a level that
    broke the SLO (p95 or error rate over the limits) or after PATIENCE levels in a row whose throughput grew less
    than min_gain over the best so far: more users then only queue (one flat level on a shared machine may be a
    neighbour's burst). `summary()` is what the run reports.
    """

    STEADY_SKIP = 0.25
    PATIENCE = 2

    def __init__(self, stages: list[Stage], p95_ms: float, error_rate: float, min_gain: float):
        self.stages, self.p95_ms, self.error_rate, self.min_gain = stages, p95_ms, error_rate, min_gain
        self.levels: list[dict] = []
        self.stopped: str | None = None
        self.flat = 0  # levels in a row that brought no more throughput

    def at(self, t: float, measure) -> tuple[int, float] | None:
        """(users, spawn_rate) at run time t, or None once the search is over."""
        if self.stopped:
            return None
        current = next((i for i, st in enumerate(self.stages) if t < st.until_s), len(self.stages))
        while len(self.levels) < current:  # the levels that ended since the last tick
            self._judge(len(self.levels), measure)
            if self.stopped:
                return None
        if current == len(self.stages):
            self.stopped = f"reached the most users asked for ({self.stages[-1].users})"
            return None
        return self.stages[current].users, self.stages[current].spawn_rate

    def _judge(self, i: int, measure) -> None:
        stage = self.stages[i]
        begin = self.stages[i - 1].until_s if i else 0.0
        steady = begin + (stage.until_s - begin) * self.STEADY_SKIP
        m = dict(measure(steady, stage.until_s))
        m["users"] = stage.users
        held = m["count"] > 0 and (m["p95_ms"] or 0) <= self.p95_ms and (m["error_rate"] or 0) <= self.error_rate
        m["held_slo"] = held
        best = max((lv["rps"] for lv in self.levels), default=0.0)
        m["gain"] = round(m["rps"] / best - 1, 3) if best > 0 else None
        self.levels.append(m)
        if not held:
            why = ("no request succeeded" if not m["count"] else
                   f"p95 {m['p95_ms']:.0f} ms > {self.p95_ms:.0f} ms" if (m["p95_ms"] or 0) > self.p95_ms else
                   f"error rate {m['error_rate']:.2%} > {self.error_rate:.2%}")
            self.stopped = f"the SLO broke at {stage.users} users ({why})"
        elif best > 0 and m["rps"] < best * (1 + self.min_gain):
            self.flat += 1
            if self.flat >= self.PATIENCE:
                self.stopped = (f"throughput stopped growing at {stage.users} users ({m['rps']:.1f} req/s, best "
                                f"{best:.1f})")
        else:
            self.flat = 0

    def summary(self) -> dict:
        held = [lv for lv in self.levels if lv["held_slo"]]
        best = max(held, key=lambda lv: lv["rps"], default=None)
        knee = None
        if best is not None and best is not self.levels[-1]:
            knee = best["users"]  # past this many users, more users only queued (or broke the SLO)
        return {"levels": self.levels, "capacity_rps": best["rps"] if best else 0.0,
                "capacity_users": best["users"] if best else None, "knee_users": knee,
                "stopped": self.stopped, "slo": {"p95_ms": self.p95_ms, "error_rate": self.error_rate,
                                                 "min_gain": self.min_gain}}


def default_duration(shape: str) -> int:
    return DEFAULT_DURATION_S.get(shape, FALLBACK_DURATION_S)
