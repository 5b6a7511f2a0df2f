"""Small, dependency-free statistics for comparing latency samples of two runs.

- quantile: hgharness.stats.quantile (type 7), re-exported here for the comparison's callers.
- mann_whitney: U test with tie correction and the normal approximation (fine from ~20 samples a side).
- block_bootstrap_log_ratio: standard error of log(Q_cur / Q_base) from a moving-block bootstrap. Samples taken
  one after another under load are correlated (a noisy neighbour slows a burst of requests); resampling blocks of
  consecutive samples keeps that correlation, so the interval is honest where an i.i.d. bootstrap is too narrow.
- paired_ratio: the geometric mean of per-pair ratios cur/base (the two sides of an A/B load task, the same
  URL back to back) and the standard error of its log by batch means over consecutive pairs; t_quantile for
  its interval.
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


def trimmed_mean(xs: list[float], trim: float = 0.1) -> float:
    """The mean of xs without the lowest and highest `trim` share (0.1: 10% each side)."""
    ys = sorted(xs)
    k = int(len(ys) * trim)
    kept = ys[k:len(ys) - k] or ys
    return sum(kept) / len(kept)


def paired_ratio(cur: list[float], base: list[float], max_batches: int = 10, min_batch: int = 4,
                 trim: float = 0.1) -> tuple[float, float, int]:
    """(ratio, standard error of its log, degrees of freedom) of paired samples: cur[i] and base[i] are the two
    sides of one task (the same URL or operation, back to back), pairs in time order.

    The ratio is the geometric mean of the per-pair ratios cur[i] / base[i] (a 10%-trimmed mean of their logs):
    a pair shares its URL, so how much one page costs more than another cancels out, where a ratio of two
    medians keeps all of that spread in its error. The error comes from batch means: the pairs are cut into K
    consecutive batches (K <= max_batches, each of at least min_batch pairs), the trimmed mean of the log ratios
    is taken in each, and the error is their spread / sqrt(K), with K - 1 degrees of freedom (use t_quantile).
    Under load a machine falls into spells of seconds in which one server is starved and not the other;
    consecutive pairs then share an error that no pairing cancels, and a bootstrap of single pairs (or short
    blocks) would call that a difference between builds. Batches as long as those spells see it as the noise it
    is. The error is inf with fewer than two batches.
    """
    n = len(cur)
    if n != len(base) or not n:
        raise ValueError("paired_ratio needs as many baseline as candidate samples, at least one")
    logs = [math.log(c / b) if c > 0 and b > 0 else 0.0 for c, b in zip(cur, base, strict=True)]
    ratio = math.exp(trimmed_mean(logs, trim))
    k = min(max_batches, n // min_batch)
    if k < 2:
        return ratio, math.inf, max(0, k - 1)
    means = [trimmed_mean(logs[i * n // k:(i + 1) * n // k], trim) for i in range(k)]
    mean = sum(means) / k
    sd = math.sqrt(sum((x - mean) ** 2 for x in means) / (k - 1))
    return ratio, sd / math.sqrt(k), k - 1


def t_quantile(p_upper: float, df: int) -> float:
    """t with P(T > t) = p_upper for Student's t with df degrees of freedom (Cornish-Fisher expansion,
    Abramowitz & Stegun 26.7.5: within 0.5% from 3 degrees of freedom; exact for 1 and 2); the normal's for
    df >= 1000."""
    if df < 1:
        return math.inf
    if df == 1:  # Cauchy: exact
        return math.tan(math.pi * (0.5 - p_upper))
    if df == 2:  # exact
        a = 1 - p_upper
        return (2 * a - 1) / math.sqrt(2 * a * (1 - a))
    z = z_for(p_upper)
    if df >= 1000:
        return z
    v = float(df)
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3)
            + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * v ** 4))


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


def thin(xs: list, limit: int) -> list:
    """Every k-th value so that at most `limit` remain, order kept (keeps bootstraps fast on big runs)."""
    if len(xs) <= limit:
        return xs
    step = len(xs) / limit
    return [xs[int(i * step)] for i in range(limit)]
