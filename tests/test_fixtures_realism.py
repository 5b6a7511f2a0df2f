"""Realism: for every distribution of the model, analyze(generate(profile)) is within the stated tolerance.

The tolerance of each distribution is in fixtures/model.py (DISTRIBUTIONS): a Kolmogorov-Smirnov statistic for
integer distributions, the total variation distance for categorical mixes, the absolute error for rates, each
widened to the 99% critical value when the generated repository offers few samples of that quantity.
`model.expected_at(profile, n)` says what n commits should show (churn and authors depend on the length of the
history). Fixed seeds: the outcome is deterministic; a change to the generator that breaks realism fails here.
"""

from __future__ import annotations

import pytest

from hgharness.fixtures import model as M
from hgharness.fixtures.analyze import analyze
from hgharness.fixtures.generate import generate

# profile -> commits: enough for the statistics, few enough for a quick run. tiny: 600, as at 300 its tip holds
# about 90 files, whose extension mix strays from the profile's by a total variation of 0.17-0.22 over seeds 1-4
# and 2024 (the limit is 0.2; files cluster, copies keep their extension); at 600 (125-190 files) 0.09-0.16
SIZES = {"tiny": 600, "small": 400, "medium": 400, "large": 300, "monorepo": 150, "hostile": 300}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_analysis_of_a_generated_repository_matches_its_profile(name, tmp_path):
    profile = M.load_profile(name)
    n = SIZES[name]
    generate(profile, n, 2024, tmp_path / name)
    observed = analyze(tmp_path / name)
    assert observed["source"]["commits"] == n
    rows = M.compare(M.expected_at(profile, n), observed)
    assert {r["name"] for r in rows} == set(M.DISTRIBUTIONS)
    bad = [f"{r['name']}: {r['statistic']} {r['value']} > {r['tolerance']}" for r in rows if not r["ok"]]
    assert not bad, f"{name}: " + "; ".join(bad)


def test_the_check_fails_for_a_repository_of_another_profile(tmp_path):
    """The comparison has teeth: a medium-profile repository is not mistaken for the hostile profile."""
    generate("medium", 300, 1, tmp_path / "m")
    observed = analyze(tmp_path / "m")
    bad = {r["name"] for r in M.compare(M.expected_at(M.load_profile("hostile"), 300), observed) if not r["ok"]}
    assert {"text_size", "binary", "empty", "branch_new"} <= bad
