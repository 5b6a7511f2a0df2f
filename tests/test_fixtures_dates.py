"""Generated dates stay inside the analyzed history's span, never after now, never past Mercurial's 32-bit limit
(2038-01-19), whatever the count asked; histories that fit are drawn exactly as before."""

from __future__ import annotations

import random

import pytest

from hgharness.fixtures import model as M
from hgharness.fixtures.analyze import analyze
from hgharness.fixtures.distributions import inverse_cdf
from hgharness.fixtures.generate import generate
from hgharness.fixtures.history import Clock
from hgharness.hg import open_repo

HOUR, DAY = 3600, 86400


def _dates(path) -> list[int]:
    repo = open_repo(path)
    return [int(repo[r].date()[0]) for r in repo]


def _clock_dates(profile: dict, n: int, now: int, seed: int = 1) -> list[int]:
    clock = Clock(profile, M.Sampler(profile["distributions"]["interval"]), n, random.Random(seed), now=now)
    out = []
    for _ in range(n):
        clock.tick()
        out.append(clock.t)
    return out


@pytest.mark.parametrize("name", ["small", "medium", "monorepo", "hostile"])
def test_a_hundred_thousand_commits_stay_before_now_and_2038(name):
    """Built-in profiles have no end date: the bound is now (a fixed one here) and the 32-bit limit."""
    profile = M.load_profile(name)
    for now in (1_800_000_000, 2 ** 32):  # 2027, and a machine whose clock is past 2106
        dates = _clock_dates(profile, 100_000, now)
        assert max(dates) <= min(now, M.MAX_DATE) and min(dates) >= profile["start_date"]
        # scaled, not piled up at the limit: the last tenth still advances
        assert len(set(dates[-10_000:])) > 1000


def test_a_profile_starting_after_2038_is_refused_in_one_line():
    profile = {**M.load_profile("small"), "start_date": M.MAX_DATE + 1}
    with pytest.raises(Exception, match="start_date: must be at most 2147483647"):
        M.validate(profile)


def _history_with_backward_steps(path, n: int = 80):
    """A history whose clock steps back often, as rebased and converted ones do: 2010 to 2012."""
    from mercurial import context
    from mercurial import hg as mhg

    from hgharness.hg import make_ui

    repo = mhg.repository(make_ui(), str(path).encode(), create=True)
    rng = random.Random(3)
    t = 1_262_304_000  # 2010-01-01
    with repo.lock(), repo.transaction(b"dates"):
        p1 = repo.nullid
        for i in range(n):
            t += rng.randint(-3 * DAY, 2 * DAY) if rng.random() < 0.4 else rng.randint(DAY, 20 * DAY)
            files = {b"f%d.txt" % (i % 7): b"line %d\n" % i}

            def getfile(repo, memctx, path, files=files):
                return context.memfilectx(repo, memctx, path, files[path])

            ctx = context.memctx(repo, (p1, None), b"change %d" % i, list(files), getfile, user=b"a <a@b.c>",
                                 date=(t, 0))
            p1 = repo.commitctx(ctx)
    return [int(repo[r].date()[0]) for r in repo]


def test_a_history_with_backward_clock_steps_generates_inside_its_span(tmp_path):
    """Backward steps were recorded as zero gaps, so the gaps overshot the span: generated dates now stay between
    the analyzed history's first and latest date, for as many commits as analyzed and for ten times more."""
    real = _history_with_backward_steps(tmp_path / "real")
    assert sum(1 for a, b in zip(real, real[1:], strict=False) if b < a) >= 15
    profile = analyze(tmp_path / "real", name="backsteps")
    assert profile["start_date"] == real[0] and profile["end_date"] == max(real)
    path = tmp_path / "profile.json"
    M.dump_profile(profile, path)
    for n in (12, 80, 800):
        out = tmp_path / f"gen{n}"
        generate(str(path), n, 1, out)
        dates = _dates(out)
        assert len(dates) >= n
        assert min(dates) >= real[0] and max(dates) <= max(real), (min(dates), max(dates), real[0], max(real))
        # and it covers the span: the first commit on the first date, the latest near the last one
        assert dates[0] == real[0] and max(real) - max(dates) <= _tolerance(real[0], max(real)), n


def test_rare_long_backward_steps_do_not_pile_the_last_commits_up_at_the_end_date():
    """A history with a few very long backward steps (python-attrs converted from git: 5 in 1,866 changesets, one
    of them 2.8 years): the steps actually drawn vary a lot from one history to the next, so a pace planned from
    their mean ran into the end date early and a quarter of the commits were all dated the same second there
    (every hour, weekday and interval figure then off). The pace follows the time left now: for every seed,
    nearly every commit has a date of its own and the last ones still advance."""
    profile = M.load_profile("medium")
    d = dict(profile["distributions"])
    d["interval"] = {"edges": [60, 3600, 86400, 604800, 2592000], "weights": [30, 40, 25, 5]}
    d["backstep"] = {"p": 0.00268}
    d["backstep_size"] = {"values": [414819, 465392, 2304729, 3005051, 88134680], "weights": [1, 1, 1, 1, 1]}
    n = 1867
    start = 1_422_377_597  # 2015-01-27
    drift = n * ((1 - 0.00268) * M.Sampler(d["interval"]).mean() - 0.00268 * M.Sampler(d["backstep_size"]).mean())
    profile = {**profile, "distributions": d, "start_date": start, "end_date": start + int(drift)}
    for seed in range(8):
        dates = _clock_dates(profile, n, 2 ** 31 - 1, seed)
        assert max(dates) <= profile["end_date"] and min(dates) >= start
        at_end = sum(1 for t in dates if t == profile["end_date"])
        assert at_end <= 2, (seed, at_end)
        assert len(set(dates)) >= 0.98 * n, (seed, len(set(dates)))

# pallets/click's analyzed intervals and backward steps (seconds; the edges grow by sqrt(2))
CLICK_INTERVAL_EDGES = [
    0, 1, 2, 3, 4, 5, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096,
    5793, 8192, 11585, 16384, 23170, 32768, 46341, 65536, 92682, 131072, 185364, 262144, 370728, 524288, 741455,
    1048576, 1482910, 2097152, 2965821, 4194304, 5931642, 8388608, 11863283, 16777216, 23726566, 33554432, 47453133,
    67108864, 94906266, 134217728,
]
CLICK_INTERVAL_WEIGHTS = [
    64, 10, 1, 6, 7, 4, 9, 14, 21, 31, 33, 50, 70, 71, 122, 196, 165, 143, 135, 120, 92, 103, 90, 79, 79, 72, 64,
    45, 65, 60, 68, 84, 90, 117, 68, 86, 71, 57, 57, 71, 67, 62, 49, 57, 17, 16, 8, 7, 5, 3, 1, 3, 0, 2, 1,
]
CLICK_BACKSTEP_WEIGHTS = [
    2, 4, 1, 2, 1, 1, 0, 2, 2, 1, 3, 0, 3, 4, 4, 4, 5, 2, 1, 3, 1, 2, 5, 7, 5, 6, 8, 5, 8, 8, 7, 4, 8, 11, 11, 4, 9,
    13, 6, 12, 8, 12, 8, 8, 4, 2, 3, 3, 3, 3, 0, 4, 1,
]


def test_a_clock_set_back_by_long_backward_steps_catches_up_and_reaches_the_end_date():
    """pallets/click converted from git: one step in 14 goes back, some by years, and the mean drift is a small
    difference of two large sums: a history whose draws went back more than their mean fell years behind (a
    generated click ended in 2016 for a history that runs to 2026). Behind the pace, the backward steps shrink;
    the intervals stay as drawn."""
    profile = M.load_profile("medium")
    d = dict(profile["distributions"])
    d["interval"] = {"edges": CLICK_INTERVAL_EDGES, "weights": CLICK_INTERVAL_WEIGHTS}
    d["backstep"] = {"p": 0.073229}
    d["backstep_size"] = {"edges": CLICK_INTERVAL_EDGES[2:], "weights": CLICK_BACKSTEP_WEIGHTS}
    n = 3333
    start = 1_398_297_600  # 2014-04-24
    step = (1 - 0.073229) * M.Sampler(d["interval"]).mean() - 0.073229 * M.Sampler(d["backstep_size"]).mean()
    end = start + int(n * step)
    profile = {**profile, "distributions": d, "start_date": start, "end_date": end}
    reach = []
    for seed in range(8):
        dates = _clock_dates(profile, n, 2 ** 31 - 1, seed)
        assert max(dates) <= end and min(dates) >= start
        reach.append(round((max(dates) - start) / (end - start), 2))
    assert min(reach) >= 0.85, reach


def _tolerance(start: int, end: int) -> int:
    """How far before the analyzed end a generated history may end: 2% of the span or 30 days, the larger."""
    return max(30 * DAY, (end - start) // 50)


# python-attrs' rare, long backward steps (5 in 1,866 changesets, one of 2.8 years)
ATTRS_INTERVAL = {"edges": [60, 3600, 86400, 604800, 2592000], "weights": [30, 40, 25, 5]}
ATTRS_BACKSTEP = {"values": [414819, 465392, 2304729, 3005051, 88134680], "weights": [1, 1, 1, 1, 1]}


@pytest.mark.parametrize("shape", ["attrs", "click", "many-backsteps"])
def test_generated_dates_cover_the_analyzed_span_for_any_number_of_commits(shape):
    """python-attrs at 1866 commits (as many as analyzed) ended 2025-06-19 for a history that runs to 2026-08, and
    pallets/click 2026-11 at 3332: the clock was paced from the steps' mean, and the steps actually drawn (a long
    backward step late, a few more long intervals) could not be made up; with fewer commits than analyzed it ended
    years early (intervals were never stretched). The walk is planned now: for 12 to 20,000 commits the first date
    is the start, the latest within 2% of the span (or 30 days) of the end date, never after it, for every seed."""
    profile = M.load_profile("medium")
    d = dict(profile["distributions"])
    start = 1_398_297_600  # 2014-04-24
    if shape == "attrs":
        d.update(interval=ATTRS_INTERVAL, backstep={"p": 0.00268}, backstep_size=ATTRS_BACKSTEP)
        end = start + 4208 * DAY
    elif shape == "click":
        d.update(interval={"edges": CLICK_INTERVAL_EDGES, "weights": CLICK_INTERVAL_WEIGHTS},
                 backstep={"p": 0.073229},
                 backstep_size={"edges": CLICK_INTERVAL_EDGES[2:], "weights": CLICK_BACKSTEP_WEIGHTS})
        end = start + 4501 * DAY
    else:  # a third of the steps go back, by up to 400 days
        d.update(backstep={"p": 0.3}, backstep_size={"edges": [1, HOUR, DAY, 30 * DAY, 400 * DAY],
                                                     "weights": [2, 3, 3, 1]})
        end = start + 3000 * DAY
    profile = {**profile, "distributions": d, "start_date": start, "end_date": end}
    for n in (12, 300, 1866, 3332, 20_000):
        for seed in range(3 if n < 20_000 else 1):
            dates = [start, *_clock_dates(profile, n - 1, 2 ** 31 - 1, seed)]
            assert min(dates) == start and max(dates) <= end, (n, seed)
            assert end - max(dates) <= _tolerance(start, end), (n, seed, (end - max(dates)) // DAY)
            assert sum(1 for t in dates if t == end) <= 2, (n, seed)  # not piled up at the end
    # the bound holds where now comes first: the walk ends at now, not after it
    now = start + 1000 * DAY
    dates = _clock_dates(profile, 500, now, 1)
    assert max(dates) <= now and now - max(dates) <= _tolerance(start, now)


def _converted_history(path, convert_user: bytes = b"convert-repo", convert_desc: bytes = b"update tags",
                       n: int = 40) -> list[int]:
    """A linear history from 2010 in +0100, tagged, ending as `hg convert` ends one: a commit of .hgtags alone
    dated years later (the conversion) in +0000. The dates of the project's own commits."""
    from mercurial import context
    from mercurial import hg as mhg

    from hgharness.hg import make_ui

    repo = mhg.repository(make_ui(), str(path).encode(), create=True)
    rng = random.Random(5)
    t, dates = 1_262_304_000, []
    with repo.lock(), repo.transaction(b"convert"):
        p1 = repo.nullid
        for i in range(n + 1):
            last = i == n
            if last:
                files = {b".hgtags": b"%s v1\n" % repo[p1].hex()}
                user, desc, date, tz = convert_user, convert_desc, t + 5 * 365 * DAY, 0
            else:
                t += rng.randint(HOUR, 3 * DAY)
                files = {b"f%d.txt" % (i % 5): b"line %d\n" % i}
                user, desc, date, tz = b"ann <ann@example.org>", b"change %d" % i, t, -3600
                dates.append(t)

            def getfile(repo, memctx, p, files=files):
                return context.memfilectx(repo, memctx, p, files[p])

            p1 = repo.commitctx(context.memctx(repo, (p1, None), desc, list(files), getfile, user=user,
                                               date=(date, tz)))
    return dates



def test_hg_convert_s_tag_commit_is_left_out_of_the_time_model(tmp_path):
    """python-attrs converted with hg convert: its last changeset is the converter's "update tags" commit, dated at
    the conversion, and the profile ended that day (2026-12-05) instead of with the project's last commit
    (2026-08-07), click likewise. Such a commit (user exactly convert-repo, description exactly "update tags",
    .hgtags alone) is in no measure now: not the end date, the intervals, the zones, the authors, the count; the
    same commit by anyone else, or with another description, is a commit of the project."""
    from hgharness.fixtures.compare import history_figures
    from hgharness.hg import open_repo

    dates = _converted_history(tmp_path / "conv")
    profile = analyze(tmp_path / "conv")
    d = profile["distributions"]
    assert profile["end_date"] == max(dates) and profile["start_date"] == dates[0]
    assert profile["source"]["commits"] == len(dates) and profile["source"]["authors"] == 1
    assert set(d["timezones"]["mix"]) == {"-3600"}
    assert profile["source"]["samples"]["interval"] == len(dates) - 1
    assert inverse_cdf(d["interval"], 1.0) <= 4 * DAY  # not the five years to the conversion
    assert profile["source"]["tags"] == 1  # the tags it wrote are the project's
    figures = history_figures(open_repo(tmp_path / "conv"))
    assert figures["last_date"] == max(dates) and figures["span_days"] < 200
    for user, desc in ((b"ann <ann@example.org>", b"update tags"), (b"convert-repo", b"Update tags")):
        _converted_history(tmp_path / user[:3].decode() / desc[:1].decode(), user, desc)
        kept = analyze(tmp_path / user[:3].decode() / desc[:1].decode())
        assert kept["end_date"] == dates[-1] + 5 * 365 * DAY
        assert kept["source"]["commits"] == len(dates) + 1
