"""The statistics behind `report compare`, checked against brute force and known values."""

import itertools
import math
import random

import pytest

from hgharness.reports import stats


def test_quantile_interpolates_like_numpy_default():
    xs = [1.0, 2.0, 3.0, 4.0]
    assert stats.quantile(xs, 0.5) == 2.5
    assert stats.quantile(xs, 0.0) == 1.0 and stats.quantile(xs, 1.0) == 4.0
    assert stats.quantile(xs, 0.25) == pytest.approx(1.75)
    with pytest.raises(ValueError):
        stats.quantile([], 0.5)


def test_one_quantile_for_every_layer():
    """The report, the load gates and the traffic summary share hgharness.stats.quantile; the gates' and the
    traffic summary's empty cases stay theirs (no figures; 0.0)."""
    from hgharness import stats as core
    from hgharness.fixtures.traffic_stats import _ms
    from hgharness.load import slo

    assert stats.quantile is core.quantile and slo.quantile is core.quantile
    rng = random.Random(5)
    xs = sorted(rng.uniform(0, 100) for _ in range(37))
    assert core.quantile(xs, 0.95, presorted=True) == core.quantile(list(reversed(xs)), 0.95)
    assert _ms(xs, 0.5) == round(core.quantile(xs, 0.5), 1) and _ms([], 0.5) == 0.0
    assert "p50_ms" not in slo.summarize([], 0, 1.0)


def _u_by_pairs(base, cur):
    return sum(1.0 if c > b else 0.5 if c == b else 0.0 for b in base for c in cur)


def test_mann_whitney_u_equals_pair_count_with_ties():
    rng = random.Random(3)
    base = [rng.choice([1, 2, 2, 3, 5]) for _ in range(23)]
    cur = [rng.choice([2, 3, 3, 4, 5]) for _ in range(17)]
    mw = stats.mann_whitney(base, cur)
    assert mw["u"] == _u_by_pairs(base, cur)
    assert mw["prob_greater"] == pytest.approx(_u_by_pairs(base, cur) / (23 * 17))


def test_mann_whitney_p_value_close_to_exact_permutation():
    base = [10.1, 11.3, 9.8, 12.0, 10.7, 11.1, 10.0, 9.5]
    cur = [11.9, 12.4, 10.9, 13.1, 12.2, 11.5, 12.8, 10.4]
    observed = _u_by_pairs(base, cur)
    pooled = base + cur
    ge = total = 0
    for idx in itertools.combinations(range(16), 8):  # every split of the 16 values: the exact null
        c = [pooled[i] for i in idx]
        b = [pooled[i] for i in range(16) if i not in idx]
        total += 1
        ge += _u_by_pairs(b, c) >= observed
    exact = ge / total
    approx = stats.mann_whitney(base, cur)["p_greater"]
    assert exact < 0.01
    assert approx == pytest.approx(exact, abs=0.005)


def test_mann_whitney_identical_values_are_no_evidence():
    mw = stats.mann_whitney([5.0] * 40, [5.0] * 40)
    assert mw["p_greater"] == 1.0 and mw["prob_greater"] == 0.5


def test_holm_adjustment_known_values():
    # m=4: sorted p 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06 (monotone), 0.06
    assert stats.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_block_bootstrap_widens_for_correlated_samples():
    """Correlated noise (a slow load drift) must widen the interval; i.i.d. noise must not."""
    rng = random.Random(11)
    iid = [math.exp(rng.gauss(3, 0.3)) for _ in range(400)]
    level, drift = 0.0, []
    for _ in range(400):
        level = 0.98 * level + rng.gauss(0, 0.06)
        drift.append(math.exp(3 + level + rng.gauss(0, 0.1)))
    se_iid = stats.block_bootstrap_log_ratio(iid, list(reversed(iid)), resamples=200, seed=1)
    se_drift = stats.block_bootstrap_log_ratio(drift, list(reversed(drift)), resamples=200, seed=1)
    shuffled = drift[:]
    rng.shuffle(shuffled)
    se_shuffled = stats.block_bootstrap_log_ratio(shuffled, list(reversed(shuffled)), resamples=200, seed=1)
    assert se_drift > 1.5 * se_shuffled  # same values, order matters: the blocks kept the correlation
    assert 0.01 < se_iid < 0.1


def test_proportion_test_and_thinning():
    assert stats.proportion_greater(0, 500, 40, 500) < 1e-6
    assert stats.proportion_greater(10, 500, 10, 500) > 0.4
    assert stats.proportion_greater(0, 100, 0, 100) == 1.0
    assert stats.thin(list(range(10)), 20) == list(range(10))
    thinned = stats.thin(list(range(10000)), 1000)
    assert len(thinned) == 1000 and thinned == sorted(thinned)
