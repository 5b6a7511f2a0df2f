"""Small, dependency-free statistics for comparing latency samples of two runs.

- quantile: hgharness.stats.quantile (type 7), re-exported here for the comparison's callers.
- mann_whitney: U test with tie correction and the normal approximation (fine from ~20 samples a side).
- block_bootstrap_log_ratio: standard error of log(Q_cur / Q_base) from a moving-block bootstrap. Samples taken
  one after another under load are correlated (a noisy neighbour slows a burst of requests); resampling blocks of
  consecutive samples keeps that correlation, so the interval is honest where an i.i.d. bootstrap is too narrow.
- holm: Holm-Bonferroni step-down adjustment across the actions compared (family-wise error rate).
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

from hgharness.stats import quantile

_N = NormalDist()


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z, accurate in the far tail."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def z_for(p_upper: float) -> float:
    """z with P(Z > z) = p_upper."""
    return _N.inv_cdf(1 - p_upper)


def mann_whitney(base, cur) -> dict:
    """Mann-Whitney U of cur against base.

    Returns u (U of cur), p_greater (one-sided: cur tends to be larger, i.e. slower), p_less, p_two_sided and
    prob_greater = P(cur > base) + P(cur = base)/2, the common-language effect size (0.5 = no difference).
    """
    n1, n2 = len(base), len(cur)
    if not n1 or not n2:
        raise ValueError("Mann-Whitney needs samples on both sides")
    pooled = sorted([(x, 0) for x in base] + [(x, 1) for x in cur], key=lambda r: r[0])
    n = n1 + n2
    rank_sum_cur = 0.0
    tie_term = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        avg_rank = (i + j) / 2 + 1
        t = j - i + 1
        if t > 1:
            tie_term += t ** 3 - t
        rank_sum_cur += avg_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 1)
        i = j + 1
    u = rank_sum_cur - n2 * (n2 + 1) / 2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:  # every value identical
        return {"u": u, "p_greater": 1.0, "p_less": 1.0, "p_two_sided": 1.0, "prob_greater": 0.5}
    sd = math.sqrt(var)
    p_greater = norm_sf((u - mean - 0.5) / sd)  # continuity correction
    p_less = norm_sf((mean - u - 0.5) / sd)
    return {"u": u, "p_greater": min(1.0, p_greater), "p_less": min(1.0, p_less),
            "p_two_sided": min(1.0, 2 * min(p_greater, p_less)), "prob_greater": u / (n1 * n2)}


def _resample_blocks(xs: list[float], block: int, rng: random.Random) -> list[float]:
    n = len(xs)
    if block <= 1:
        return [xs[rng.randrange(n)] for _ in range(n)]
    out: list[float] = []
    last_start = n - block
    while len(out) < n:
        s = rng.randint(0, last_start)
        out.extend(xs[s:s + block])
    del out[n:]
    return out


def block_length(n: int) -> int:
    """About sqrt(n): long enough to keep bursts together, short enough to leave many blocks."""
    return max(1, min(n // 4, int(round(math.sqrt(n))))) if n >= 8 else 1


def block_bootstrap_log_ratio(base: list[float], cur: list[float], q: float = 0.5, resamples: int = 300,
                              seed: int = 0) -> float:
    """Standard error of log(quantile_q(cur) / quantile_q(base)); samples in time order."""
    rng = random.Random(seed)
    bb, bc = block_length(len(base)), block_length(len(cur))
    logs = []
    for _ in range(resamples):
        qb = quantile(_resample_blocks(base, bb, rng), q)
        qc = quantile(_resample_blocks(cur, bc, rng), q)
        if qb > 0 and qc > 0:
            logs.append(math.log(qc / qb))
    if len(logs) < 2:
        return float("inf")
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def proportion_greater(fail_base: int, n_base: int, fail_cur: int, n_cur: int) -> float:
    """One-sided p-value that cur's failure rate exceeds base's (pooled two-proportion z test)."""
    if not n_base or not n_cur:
        return 1.0
    pooled = (fail_base + fail_cur) / (n_base + n_cur)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_base + 1 / n_cur))
    return norm_sf((fail_cur / n_cur - fail_base / n_base) / se)


def thin(xs: list[float], limit: int) -> list[float]:
    """Every k-th value so that at most `limit` remain, order kept (keeps bootstraps fast on big runs)."""
    if len(xs) <= limit:
        return xs
    step = len(xs) / limit
    return [xs[int(i * step)] for i in range(limit)]
