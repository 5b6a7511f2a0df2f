"""Authors of a generated history have the analyzed history's name shapes (#19): full names, logins and bots at
the learned shares (fixtures/people.py), made-up names, never a famous person's."""

from __future__ import annotations

import json
import random

import pytest

from hgharness.errors import HarnessError
from hgharness.fixtures import model as M
from hgharness.fixtures import people as P
from hgharness.fixtures.generate import generate
from hgharness.hg import open_repo


def test_analyze_counts_the_shapes_of_distinct_authors():
    users = [b"David Lord <d@example.org>", b"Rowlando13 <r@users.noreply.example.com>", b"hynek <h@example.org>",
             b"pre-commit-ci[bot] <66853113+pre-commit-ci[bot]@users.noreply.github.com>",
             b"Jean-Luc de la Tour <j@example.org>", b"dependabot-preview <x@example.org>"]
    assert P.model(users) == {"mix": {"full": 2, "handle": 3, "bot": 1}}
    assert P.model([]) == {"mix": {"full": 1}}


@pytest.mark.parametrize("mix", [{"full": 1}, {"handle": 1}, {"full": 3, "handle": 1, "bot": 1}])
def test_made_up_authors_follow_the_mix(mix):
    out = P.authors(random.Random(4), 400, mix)
    assert len(set(out)) == 400
    shapes = [P.shape(a) for a in out]
    people = {k: w for k, w in mix.items() if k != "bot"}
    for k in P.SHAPES:
        share = shapes.count(k) / len(out)
        if k == "bot":  # its share, up to the dozen automation accounts there are (P.BOTS)
            assert shapes.count(k) == min(len(P.BOTS), round(400 * mix.get(k, 0) / sum(mix.values())) or 0) or \
                abs(share - mix.get(k, 0) / sum(mix.values())) < 0.03, (k, share)
        else:  # of the people
            want = people.get(k, 0) / sum(people.values())
            share = shapes.count(k) / max(1, len(out) - shapes.count("bot"))
            assert abs(share - want) < 0.08, (k, share, want)


def test_a_generated_history_has_the_profile_s_shapes(tmp_path):
    profile = json.loads(json.dumps(M.load_profile("small")))
    profile["people"] = {"mix": {"handle": 1}}
    generate(M.validate(profile), 120, 2, tmp_path / "gen")
    repo = open_repo(tmp_path / "gen")
    users = {repo[r].user() for r in repo}
    assert len(users) > 3 and all(P.shape(u) == "handle" for u in users), sorted(users)[:5]


@pytest.mark.parametrize("bad", [{"mix": {"famous": 1}}, {"mix": {}}, {"mix": {"full": "1"}}, [1], {"mix": {"full": 0}}])
def test_a_bad_people_key_is_one_line_naming_the_field(bad):
    profile = json.loads(json.dumps(M.load_profile("small")))
    profile["people"] = bad
    with pytest.raises(HarnessError, match=r"people\.mix"):
        M.validate(profile, "p.json")
