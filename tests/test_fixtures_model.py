"""The fixture model: profile validation names the bad field, sampling follows the distribution, statistics."""

from __future__ import annotations

import copy
import json
import random

import pytest

from hgharness.errors import HarnessError
from hgharness.fixtures import distributions as D
from hgharness.fixtures import model as M


@pytest.fixture
def profile():
    return M.load_profile("small")


def test_every_shipped_profile_validates_and_has_every_distribution():
    names = M.known_profiles()
    assert {"tiny", "small", "medium", "large", "monorepo", "hostile"} <= set(names)
    for name in names:
        p = M.load_profile(name)
        assert p["version"] == M.VERSION and set(p["distributions"]) == set(M.DISTRIBUTIONS)
    assert M.load_profile("hostile")["hostile"] is True


@pytest.mark.parametrize("mutate, field", [
    (lambda p: p.update(version=99), "version"),
    (lambda p: p.update(format="x"), "format"),
    (lambda p: p.pop("initial_files"), "initial_files"),
    (lambda p: p["distributions"].pop("hunks"), "distributions.hunks"),
    (lambda p: p["distributions"].update(bogus={"p": 0.1}), "distributions.bogus"),
    (lambda p: p["distributions"].update(merge={"p": 1.5}), "distributions.merge"),
    (lambda p: p["distributions"]["hunks"].update(weights=[1]), "distributions.hunks.weights"),
    (lambda p: p["distributions"]["text_size"].update(edges=[5, 3, 9]), "distributions.text_size.edges"),
    (lambda p: p["distributions"]["files_modified"].update(values=[-1, 2]), "distributions.files_modified.values"),
    (lambda p: p["distributions"]["hunk_kind"]["mix"].update(rename=1), "distributions.hunk_kind.mix"),
    (lambda p: p["distributions"]["timezones"]["mix"].update(CET=1), "distributions.timezones.mix"),
    (lambda p: p["distributions"].update(authors={"zipf": 1.1}), "distributions.authors"),
    (lambda p: p.update(surprise=1), "surprise"),
    (lambda p: p.update(open_heads=-1), "open_heads"),
    (lambda p: p.update(open_heads=True), "open_heads"),
])
def test_validation_names_the_bad_field(profile, mutate, field):
    bad = copy.deepcopy(profile)
    mutate(bad)
    with pytest.raises(HarnessError) as e:
        M.validate(bad, "p.json")
    assert f"invalid profile p.json: {field}" in str(e.value)


def test_a_profile_older_than_line_commits_and_line_wait_gets_what_lines_were_drawn_from(profile):
    """line_commits and line_wait (an anonymous line's length and how long it waits for its merge) came after
    merge_size and merge_distance, which the generator drew lines from before: a profile without them gets
    copies of those, and no open_heads (the generator takes 0)."""
    old = copy.deepcopy(profile)
    for key in ("line_commits", "line_wait"):
        old["distributions"].pop(key)
    d = M.validate(old)["distributions"]
    assert d["line_commits"] == d["merge_size"] and d["line_wait"] == d["merge_distance"]
    assert "open_heads" not in old


def test_load_profile_errors(tmp_path):
    with pytest.raises(HarnessError, match="unknown profile 'nope' .*known: .*medium"):
        M.load_profile("nope")
    f = tmp_path / "broken.json"
    f.write_text("{not json")
    with pytest.raises(HarnessError, match="not JSON"):
        M.load_profile(str(f))
    with pytest.raises(HarnessError, match="not found"):
        M.load_profile(str(tmp_path / "missing.json"))


def test_dump_and_load_round_trip(tmp_path, profile):
    path = tmp_path / "copy.json"
    M.dump_profile(profile, path)
    assert M.load_profile(str(path)) == json.loads(json.dumps(profile))


def test_sampler_follows_the_distribution():
    rng = random.Random(1)
    for d in ({"values": [1, 2, 5], "weights": [6, 3, 1]}, {"edges": [0, 10, 100, 1000], "weights": [5, 3, 2]},
              {"zipf": 1.2, "count": 30}):
        s = M.Sampler(d)
        draws = [s(rng) for _ in range(20000)]
        assert D.ks(d, D.int_dist(draws, max_values=5000)) < 0.02, d
        assert abs(sum(draws) / len(draws) - D.mean(d)) / D.mean(d) < 0.05


def test_statistics_catch_a_different_distribution():
    a = {"values": [1, 2, 3], "weights": [8, 1, 1]}
    assert D.ks(a, a) == 0
    assert D.ks(a, {"values": [1, 2, 3], "weights": [1, 1, 8]}) == pytest.approx(0.7)
    assert D.tv({"mix": {"a": 1}}, {"mix": {"b": 1}}) == 1.0
    # a histogram and the discrete samples drawn from it agree
    h = {"edges": [0, 4, 16], "weights": [1, 1]}
    assert D.ks(h, {"values": list(range(16)), "weights": [3] * 4 + [1] * 12}) < 1e-9


def test_inverse_cdf_answers_only_values_the_distribution_holds():
    """The generator's starvation bound and compare()'s p90 columns read a distribution, not samples: no
    interpolation between values (hgharness.stats.quantile of the values [1, 2] at 0.9 would say 1.9)."""
    assert D.inverse_cdf({"values": [1, 2], "weights": [1, 1]}, 0.9) == 2
    assert D.inverse_cdf({"values": [1, 2], "weights": [1, 1]}, 0.5) == 1
    assert D.inverse_cdf({"edges": [0, 4, 16], "weights": [1, 1]}, 0.9) == 15
    assert D.inverse_cdf({"edges": [0, 4, 16], "weights": [1, 1]}, 0.1) == 0


def test_compare_flags_what_is_out_of_tolerance(profile):
    other = copy.deepcopy(profile)
    other["distributions"]["merge"] = {"p": 0.5}
    other["distributions"]["files_modified"] = {"values": [40], "weights": [1]}
    bad = {r["name"] for r in M.compare(profile, other) if not r["ok"]}
    assert bad == {"merge", "files_modified"}
    assert all(r["ok"] for r in M.compare(profile, profile))


def test_expected_at_rescales_churn_and_authors(profile):
    short = M.expected_at(profile, 200)
    long = M.expected_at(profile, 20000)
    assert D.mean(short["distributions"]["file_revisions"]) < D.mean(long["distributions"]["file_revisions"])
    assert len(short["distributions"]["authors"]["values"]) <= 12
