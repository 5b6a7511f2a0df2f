"""The one quantile every layer uses, so a p95 means the same thing in every report, gate and table."""

from __future__ import annotations

import math


def quantile(values, q: float, presorted: bool = False) -> float:
    """The q-quantile of values, q from 0 to 1 (0.95 for p95).

    Linear interpolation between closest ranks (numpy's default, Hyndman-Fan "type 7"). Pass presorted=True when
    values is already sorted ascending, to skip the sort. An empty input raises ValueError: a caller with a
    fallback (0.0, None) says so itself.
    """
    if not values:
        raise ValueError("quantile of no values")
    xs = values if presorted else sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
