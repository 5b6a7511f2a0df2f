"""What `analyze` learns of a history's words (#19): the text model per file type, commit messages, file names,
well-known top-level files; generation reads like the source; `--anonymize` keeps the statistics and no word.

The source is a small hand-made history (tests build it with `hg`): Python with its own identifiers and comments,
reStructuredText, messages 'Bug N - component: ... r=reviewer', 'Fix #N: ...', named-branch merges."""

from __future__ import annotations

import ast
import json
import random
import re
from collections import Counter

import pytest

from hgharness.fixtures import language as L
from hgharness.fixtures import model as M
from hgharness.fixtures.analyze import analyze
from hgharness.fixtures.generate import generate
from tests.conftest import run_cli

IDS = ("frobnicate quuxifier zanzibar_widget marmalade_store telescoping vermicelli_index bramblewood "
       "snorkeling_cache hippogriff parliament_tally").split()
TOP = {"README.rst": "Bramblewood\n===========\n\nA telescoping marmalade store.\n",
       "LICENSE": "Copyright hippogriff parliament.\nPermission granted.\n",
       "setup.py": "from setuptools import setup\n\nsetup(name='bramblewood')\n",
       ".hgignore": "syntax: glob\n*.pyc\n"}


def _py(rng: random.Random, n: int) -> str:
    out = ['"""Module of the bramblewood marmalade store."""', "", "import os", ""]
    for _ in range(n):
        out += [f"def {rng.choice(IDS)}_{rng.randint(1, 99)}({rng.choice(IDS)}):",
                f"    # {rng.choice(IDS)} the {rng.choice(IDS)}",
                f"    {rng.choice(IDS)} = {rng.choice(IDS)}({rng.choice(IDS)}, {rng.randint(1, 9)})",
                f"    if {rng.choice(IDS)}:",
                f"        return {rng.choice(IDS)}.{rng.choice(IDS)}()",
                f"    return {rng.choice(IDS)}", ""]
    return "\n".join(out) + "\n"


def _rst(rng: random.Random) -> str:
    return "\n".join(f"{rng.choice(IDS).capitalize()} {rng.choice(IDS)} {rng.choice(IDS)}." for _ in range(12)) + "\n"


MESSAGES = ("Bug {n} - vermicelli: frobnicate the quuxifier r=zanzibar", "Fix #{n}: telescoping marmalade cache",
            "snorkeling: hippogriff parliament tally", "Bramblewood frobnicate widgets (#{n})")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 40-commit history with a named branch merged twice."""
    repo = tmp_path_factory.mktemp("lang") / "bramblewood"
    from mercurial import dispatch

    try:  # Mercurial 7.2 moved the request class; older releases keep it in dispatch
        from mercurial.main_script import request
    except ImportError:
        request = dispatch.request
    cfg = [b"--config", b"ui.username=Hippo Griff <hippo@example.org>", b"--config", b"ui.merge=internal:other"]

    def hg(*args):  # in-process: a process per command costs seconds on a busy machine
        assert dispatch.dispatch(request([b"--cwd", str(repo).encode(), *cfg, *(a.encode() for a in args)])) == 0, args

    repo.mkdir()
    hg("init")
    rng = random.Random(7)
    for name, text in TOP.items():
        (repo / name).write_text(text)
    (repo / "bramblewood").mkdir()
    (repo / "docs").mkdir()
    for i in range(40):
        if i in (12, 26):
            hg("branch", "-f", "marmalade")
        for _ in range(2):
            d = rng.choice(["bramblewood", "docs"])
            ext = ".py" if d == "bramblewood" else ".rst"
            f = repo / d / f"{rng.choice(IDS)}{ext}"
            f.write_text(_py(rng, rng.randint(2, 6)) if ext == ".py" else _rst(rng))
        hg("addremove", "-q")
        hg("commit", "-m", rng.choice(MESSAGES).format(n=rng.randint(1000, 99999)), "-d", f"{1600000000 + i * 3600} 0")
        if i in (18, 32):
            hg("update", "-q", "default")
            hg("merge", "-q", "marmalade")
            hg("commit", "-m", f"Merge marmalade into default (bug {rng.randint(100, 999)})",
               "-d", f"{1600000000 + i * 3600 + 60} 0")
    return repo


@pytest.fixture(scope="module")
def learned(source):
    return analyze(source)


def test_analyze_learns_text_messages_and_names(learned):
    py = learned["text"]["exts"][".py"]
    assert max(py["indent"]["mix"], key=py["indent"]["mix"].get) == "4"
    assert 0.1 < py["comment"]["p"] < 0.3 and py["marker"] == "#"
    assert py["docstring"]["p"] > 0.7  # every module of bramblewood/ starts with one; setup.py does not
    assert {"frobnicate", "marmalade_store"} <= {w for w, _ in py["words"]}
    m = learned["messages"]
    assert {"bug", "fix", "component", "none"} <= set(m["prefix"]["mix"]) and m["suffix"]["mix"].get("pr")
    assert ["zanzibar"] == [w for w, _ in m["reviewers"]]
    # 'Bramblewood frobnicate widgets (#N)' capitalized, the words after 'Bug N - ', 'Fix #N: ', 'snorkeling: ' not
    assert (m["capitalized"]["plain"], m["capitalized"]["prefixed"]) == (1.0, 0.0)
    assert any(t.startswith("Merge {w} into default") for t, _ in m["merges"]), m["merges"]
    assert set(learned["names"]["top_files"]) == set(TOP)
    M.validate(json.loads(json.dumps(learned)))


def _words6(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{6,}", text)}


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k] + _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _source_words(repo) -> set[str]:
    from hgharness.hg import open_repo

    r = open_repo(repo)
    words = set()
    for rev in r:
        ctx = r[rev]
        words |= _words6(ctx.description().decode())
        for f in ctx.files():
            words |= _words6(f.decode())
            if f in ctx:
                words |= _words6(ctx[f].data().decode())
    return words


SCHEMA = _words6(json.dumps(M.load_profile("small")))  # the format's own words (keys): not the project's


def test_anonymize_keeps_the_statistics_and_shares_no_long_word(source, learned, tmp_path):
    out = tmp_path / "anon.json"
    r = run_cli("fixtures", "analyze", "--anonymize", source, "-o", out)
    assert r.returncode == 0, r.stderr
    anon = json.loads(out.read_text())
    src = _source_words(source)
    # kept: the well-known top-level files, named from a fixed list (language.TOP_FILES), not by the project
    assert all(L.TOP_FILES.match(f) for f in anon["names"]["top_files"])
    fixed = set().union(*map(_words6, anon["names"]["top_files"]))
    shared = (set().union(*map(_words6, _strings(anon))) - SCHEMA - fixed) & src
    assert not shared, sorted(shared)[:20]
    # the test has teeth: the plain profile carries the project's words
    assert len((set().union(*map(_words6, _strings(learned))) - SCHEMA) & src) > 10
    # the same statistics
    assert anon["distributions"] == learned["distributions"]
    for e, m in learned["text"]["exts"].items():
        a = anon["text"]["exts"][e]
        assert (a["indent"], a["comment"], a["blank"]) == (m["indent"], m["comment"], m["blank"])
        assert [n for _, n in a["words"]] == [n for _, n in m["words"]]
        assert [len(w) for w, _ in a["words"]] == [len(w) for w, _ in m["words"]]
    assert anon["messages"]["prefix"] == learned["messages"]["prefix"]
    # and it generates a valid history
    generate(M.validate(anon), 60, 1, tmp_path / "gen")


@pytest.fixture(scope="module")
def generated(learned, tmp_path_factory):
    path = tmp_path_factory.mktemp("lang-gen") / "gen"
    generate(learned, 200, 3, path)
    from hgharness.hg import open_repo

    return open_repo(path)


def test_generated_history_reads_like_its_source(learned, generated):
    tip = generated[b"tip"]
    assert set(TOP) <= {f.decode() for f in tip.manifest()}
    firsts = [generated[r].description().decode().splitlines()[0] for r in generated
              if len(generated[r].parents()) == 1 and r > 0]
    shapes = {"bug": r"^Bug \d+ - ", "fix": r"^Fix #\d+: ", "component": r"^[A-Za-z][\w.\-/]+: ", "pr": r" \(#\d+\)$",
              "reviewer": r" r=zanzibar$"}
    mix = learned["messages"]["prefix"]["mix"]
    total = sum(mix.values())
    for name in ("bug", "fix"):
        seen = sum(1 for f in firsts if re.search(shapes[name], f)) / len(firsts)
        assert abs(seen - mix[name] / total) < 0.12, (name, seen, mix)
    assert any(re.search(shapes["reviewer"], f) for f in firsts)
    merges = [generated[r].description().decode() for r in generated if len(generated[r].parents()) == 2]
    assert merges and all(m.startswith("Merge ") and "into default" in m for m in merges), merges[:3]


def test_generated_python_uses_the_vocabulary_and_parses(learned, generated):
    """Parts of identifiers and words of comments and strings come from the vocabulary (the last word of a
    line's slice may be cut short: counted as known when it begins a vocabulary part)."""
    parts = {p for w, _ in learned["text"]["exts"][".py"]["words"] for p in w.lower().split("_") if p}
    tokens = known = 0
    for f in generated[b"tip"].manifest():
        if f.endswith(b".py"):
            data = generated[b"tip"][f].data()
            ast.parse(data)
            for t in re.findall(r"[A-Za-z]+", data.decode()):
                tokens += 1
                t = t.lower()
                known += t in parts or any(p.startswith(t) for p in parts)
    assert tokens and known / tokens > 0.8, known / tokens


def test_analysis_of_the_generated_history_finds_the_text_model(learned, generated, tmp_path):
    again = analyze(generated.root.decode())
    for key in ("comment", "blank"):
        assert abs(again["text"]["exts"][".py"][key]["p"] - learned["text"]["exts"][".py"][key]["p"]) < 0.1, key
    a, b = again["text"]["exts"][".py"]["indent"]["mix"], learned["text"]["exts"][".py"]["indent"]["mix"]
    sa, sb = sum(a.values()), sum(b.values())
    tv = 0.5 * sum(abs(a.get(k, 0) / sa - b.get(k, 0) / sb) for k in set(a) | set(b))
    assert tv < 0.35, (a, b)


def test_directories_are_named_from_the_vocabulary_even_when_it_is_small():
    """python-attrs has few directory names (src, tests, docs, changelog.d, .github ...): once they were taken at
    one level, new directories were called d19, d26, d30 (26 of attrs' 134 generated files sat in `d30/`). They
    now join two of the project's words."""
    from hgharness.fixtures.content import WORDS, Names
    from hgharness.fixtures.tree import Tree

    profile = M.load_profile("medium")
    dirs = ["src", "tests", "docs", "attr", ".github", "attrs", "changelog.d", "_static", "sponsors", "workflows"]
    tokens = WORDS[:100]  # attrs: 101 words in its file names
    profile = {**profile, "names": {"dirs": [[w, 10 - i] for i, w in enumerate(dirs)],
                                    "tokens": [[w, 1] for w in tokens]}}
    rng = random.Random(2)
    names = Names(rng, profile)
    tree = Tree(rng, names, M.Sampler({"values": [1, 2], "weights": [2, 1]}), M.Sampler({"values": [2],
                                                                                          "weights": [1]}), [])
    paths = [tree.new_path({}, False) for _ in range(300)]
    dirs = {p.rsplit(b"/", 1)[0] for p in paths if b"/" in p}
    assert len(dirs) >= 60
    numbered = sorted(d for d in dirs if re.search(rb"(^|/)d\d+_*$", d))
    assert not numbered, numbered[:5]


def _prose_lines(repo) -> list[str]:
    """The unindented prose lines of the .rst files at tip (no rule, comment or blank line)."""
    tip = repo[b"tip"]
    out = []
    for f in tip.manifest():
        if f.endswith(b".rst"):
            out += [ln for ln in tip[f].data().decode().splitlines()
                    if ln and not ln[0].isspace() and not ln.startswith("..") and not re.fullmatch(r"(.)\1+", ln)]
    return out


def _chain_share(learned, repo) -> tuple[float, float, int]:
    """(share of tokens that are the source's, share of adjacent pairs the chain has, lines) of repo's prose."""
    from hgharness.fixtures.chain import tokens

    chain = learned["text"]["exts"][".rst"]["chain"]
    known = tokens(chain) | {w for w, _ in learned["text"]["exts"][".rst"]["words"]}
    pairs = {(w, f) for w, fs in chain["next"] for f, _ in fs}
    lines = _prose_lines(repo)
    toks = [t for ln in lines for t in ln.split()]
    ok = sum(t in known or t.rstrip(".") in known or t.isdigit() for t in toks)
    adjacent = [(a, b) for ln in lines for a, b in zip(ln.split(), ln.split()[1:], strict=False)]
    followed = sum((a, b) in pairs or (a.rstrip("."), b) in pairs or a.endswith(".") for a, b in adjacent)
    return ok / max(1, len(toks)), followed / max(1, len(adjacent)), len(lines)


def test_generated_prose_follows_the_learned_word_chain(learned, generated, tmp_path):
    """.rst lines are the source's tokens in the source's order (a bigram chain, fixtures/chain.py), whole tokens
    at the exact line length, not a salad of cut tokens and code punctuation: the profile without its chain
    (older profiles) gives that salad, which the same measure tells apart. The source's sentences are three long
    tokens, so a line's last gap is often filled by another token of the right length (not a pair)."""
    known, followed, lines = _chain_share(learned, generated)
    assert lines > 50 and known > 0.98 and followed > 0.6, (known, followed, lines)
    old = json.loads(json.dumps(learned))
    for k in ("chain", "rule", "bullet"):
        del old["text"]["exts"][".rst"][k]
    generate(old, 200, 3, tmp_path / "old")
    from hgharness.hg import open_repo

    known_old, followed_old, _ = _chain_share(learned, open_repo(tmp_path / "old"))
    assert known_old < 0.8 and followed_old < 0.3, (known_old, followed_old)


def test_prose_lines_have_the_length_asked_and_end_on_whole_tokens():
    from hgharness.fixtures.chain import ChainLearner
    from hgharness.fixtures.filetypes import ProseDialect

    learner = ChainLearner()
    text = ("Click is a package for creating command line interfaces in a composable way with as little code "
            "as necessary. It is highly configurable but comes with sensible defaults out of the box.")
    for sentence in text.split(". "):
        learner.add(sentence)
    model = {"indent": {"mix": {"0": 9, "4": 1}}, "comment": {"p": 0.1}, "marker": "..", "blank": {"p": 0},
             "words": [[w, 1] for w in re.findall(r"[A-Za-z]{2,}", text)], "chain": learner.model(),
             "rule": {"p": 0.1, "mark": "-"}, "bullet": {"p": 0.1, "mark": "*"}}
    d = ProseDialect(random.Random(3), ["click"], model)
    words = set(text.replace(".", " ").split())
    for n in list(range(0, 120)) * 5:
        line = d.line(n)
        assert len(line) == n, (n, line)
        body = line.lstrip(" ").removeprefix(".. ").removeprefix("* ")
        if body and not re.fullmatch(r"-+", body):
            assert all(t.rstrip(".") in words or t.isdigit() for t in body.split()), (n, line)


def _comment_pairs(learned, repo) -> tuple[float, int]:
    """(share of adjacent token pairs of .py comments that the .py comment chain has, comments)."""
    chain = learned["text"]["exts"][".py"]["chain"]
    pairs = {(w, f) for w, fs in chain["next"] for f, _ in fs}
    tip = repo[b"tip"]
    texts = [ln.strip()[2:] for f in tip.manifest() if f.endswith(b".py")
             for ln in tip[f].data().decode().splitlines() if ln.strip().startswith("# ")]
    adjacent = [(a, b) for t in texts for a, b in zip(t.split(), t.split()[1:], strict=False)]
    followed = sum((a, b) in pairs or (a.rstrip("."), b) in pairs or a.endswith(".") for a, b in adjacent)
    return followed / max(1, len(adjacent)), len(texts)


def test_python_comments_speak_the_project_s_comment_chain(learned, generated, tmp_path):
    """.py comments and string literals are the words of the project's comments in its order (a chain of
    tokens safe in a literal, fixtures/chain.py PLAIN), not a slice of its identifiers."""
    chain = learned["text"]["exts"][".py"]["chain"]
    from hgharness.fixtures.chain import PLAIN, tokens

    assert all(PLAIN.fullmatch(t) for t in tokens(chain))
    followed, comments = _comment_pairs(learned, generated)
    assert comments > 30 and followed > 0.6, (followed, comments)
    old = json.loads(json.dumps(learned))
    del old["text"]["exts"][".py"]["chain"]
    generate(old, 200, 3, tmp_path / "old")
    from hgharness.hg import open_repo

    followed_old, _ = _comment_pairs(learned, open_repo(tmp_path / "old"))
    assert followed_old < 0.4, followed_old
# --- the chain of first lines and the merge vocabularies ---------------------------------------------------------

STARTS = ("Add", "Fix", "Remove", "Update")
THINGS = ("the frobnicate option", "a quuxifier test", "marmalade docs", "the zanzibar widget", "vermicelli caching")
PLACES = (" in the telescoping parser", " for bramblewood users", " to hippogriff")
MERGES = ("Merge branch 'stable-1.x'", "Merge pull request #{n} from alice/quux-fix", "Merge branch 'main' into snorkel")


def _hg_in(repo):
    from mercurial import dispatch

    try:  # Mercurial 7.2 moved the request class; older releases keep it in dispatch
        from mercurial.main_script import request
    except ImportError:
        request = dispatch.request
    cfg = [b"--config", b"ui.username=Hippo Griff <hippo@example.org>", b"--config", b"ui.merge=internal:other"]

    def hg(*args):
        assert dispatch.dispatch(request([b"--cwd", str(repo).encode(), *cfg, *(a.encode() for a in args)])) == 0, args

    return hg


def _chain_lines(rng: random.Random, k: int) -> list[str]:
    return [f"{rng.choice(STARTS)} {rng.choice(THINGS)}{rng.choice(PLACES) if rng.random() < 0.6 else ''}"
            for _ in range(k)]


@pytest.fixture(scope="module")
def chained(tmp_path_factory):
    """60 commits whose first lines are 'Start thing[ place]' (known start words and word pairs), a named branch
    merged back three times with the three merge forms."""
    repo = tmp_path_factory.mktemp("chain") / "marmalade"
    repo.mkdir()
    hg = _hg_in(repo)
    hg("init")
    rng = random.Random(11)
    for i, line in enumerate(_chain_lines(rng, 60)):
        if i in (10, 25, 40):
            hg("branch", "-f", "stable")
        (repo / f"f{i % 7}.txt").write_text(f"{line}\n{i}\n")
        hg("addremove", "-q")
        hg("commit", "-m", line, "-d", f"{1600000000 + i * 3600} 0")
        if i in (15, 30, 45):
            hg("update", "-q", "default")
            hg("merge", "-q", "stable")
            hg("commit", "-m", MERGES[(i // 15) - 1].format(n=100 + i), "-d", f"{1600000000 + i * 3600 + 60} 0")
    return repo


def _bigrams(lines: list[str]) -> set[tuple[str, str]]:
    return {p for ln in lines for toks in [L.chain_tokens(ln)] for p in zip(toks, toks[1:], strict=False)}


def test_the_chain_is_learned_from_first_lines(chained):
    learned = analyze(chained)
    m = learned["messages"]
    lines = _chain_lines(random.Random(11), 60)
    starts = dict(m["chain"]["starts"])
    assert set(starts) == set(STARTS) and sum(starts.values()) == 60
    pairs = {(a, b) for a, succ in m["chain"]["next"].items() for b, _ in succ if b}
    assert pairs == _bigrams(lines)  # a small source: every pair is kept
    ends = {a for a, succ in m["chain"]["next"].items() if any(b == "" for b, _ in succ)}
    assert ends == {ln.split()[-1] for ln in lines}
    # pairs seen twice or more, with what follows them ("" the end)
    triples = Counter((a, b, c) for ln in lines for t in [L.chain_tokens(ln) + [""]]
                      for a, b, c in zip(t, t[1:], t[2:], strict=False))
    twice = Counter()
    for (a, b, _), n in triples.items():
        twice[(a, b)] += n
    nxt2 = m["chain"]["next2"]
    assert {tuple(k.split(" ")) for k in nxt2} == {k for k, n in twice.items() if n >= 2}
    assert all(triples[(*k.split(" "), c)] == n for k, succ in nxt2.items() for c, n in succ)
    # merges: the forms, and the branch, owner and pull request branch vocabularies
    assert {t for t, _ in m["merges"]} == {"Merge branch '{b}'", "Merge pull request #{n} from {o}/{p}",
                                           "Merge branch 'main' into {b}"}
    assert (m["branches"], m["owners"], m["pr_branches"]) == ([["stable-1.x", 1], ["snorkel", 1]], [["alice", 1]],
                                                              [["quux-fix", 1]])
    M.validate(json.loads(M.profile_text(learned)))


@pytest.fixture(scope="module")
def chained_profile(chained):
    return analyze(chained)


def _firsts(repo, merges: bool) -> list[str]:
    return [repo[r].description().decode().splitlines()[0] for r in repo
            if r > 0 and (len(repo[r].parents()) == 2) == merges]  # the first commit's message is fixed


def test_generated_first_lines_walk_the_chain(chained, chained_profile, tmp_path):
    from hgharness.hg import open_repo

    generate(chained_profile, 150, 2, tmp_path / "gen")
    gen = open_repo(tmp_path / "gen")
    firsts = _firsts(gen, False)
    known = _bigrams(_chain_lines(random.Random(11), 60))
    assert {f.split()[0] for f in firsts} <= set(STARTS)
    unknown = [f for f in firsts if not _bigrams([f]) <= known]
    assert not unknown, unknown[:5]
    assert len({f for f in firsts}) > 30  # walks, not a few lines again and again
    # lengths keep their law: the source's are 20 to 60 characters
    src = sorted(len(ln) for ln in _chain_lines(random.Random(11), 60))
    lens = sorted(len(f) for f in firsts)
    assert abs(sum(lens) / len(lens) - sum(src) / len(src)) < 5, (lens, src)
    merges = _firsts(gen, True)
    assert merges
    forms = (r"Merge branch '(stable-1\.x|snorkel)'", r"Merge pull request #\d+ from alice/quux-fix",
             r"Merge branch 'main' into (stable-1\.x|snorkel)")
    assert all(any(re.fullmatch(f, m) for f in forms) for m in merges), merges


def test_a_profile_without_the_chain_still_generates(chained_profile, tmp_path):
    """Profiles written before the chain and the merge vocabularies: words drawn by their counts, as then."""
    from hgharness.hg import open_repo

    old = json.loads(json.dumps(chained_profile))
    for k in ("chain", "branches", "owners", "pr_branches"):
        del old["messages"][k]
    old["messages"]["merges"] = [["Merge {w} into default", 1]]
    generate(M.validate(old), 80, 2, tmp_path / "old")
    gen = open_repo(tmp_path / "old")
    words = {w for w, _ in old["messages"]["words"]}
    firsts = _firsts(gen, False)
    assert firsts and all(set(f.rstrip(".").split()) <= words | {w.capitalize() for w in words} for f in firsts)
    # the walk would only start lines with the start words: word by word draws start with any
    assert {f.split()[0] for f in firsts} - set(STARTS)


def test_anonymize_replaces_the_chain_and_vocabularies_consistently(chained, chained_profile):
    anon = analyze(chained, anonymize=True)
    src = _source_words(chained)
    shared = (set().union(*map(_words6, _strings(anon))) - SCHEMA) & src
    assert not shared, sorted(shared)[:20]
    a, m = anon["messages"], chained_profile["messages"]
    # the same shape and counts, token for token (the orders kept)
    assert [n for _, n in a["chain"]["starts"]] == [n for _, n in m["chain"]["starts"]]
    fake: dict[str, str] = {}
    nexts = list(m["chain"]["next"].items()) + list(m["chain"]["next2"].items())
    fakes = list(a["chain"]["next"].items()) + list(a["chain"]["next2"].items())
    assert len(m["chain"]["next2"]) > 5
    for (t, succ), (ft, fsucc) in zip(nexts, fakes, strict=True):
        assert [n for _, n in succ] == [n for _, n in fsucc]
        for x, y in [(t, ft)] + [(b, fb) for (b, _), (fb, _) in zip(succ, fsucc, strict=True)]:
            assert len(x) == len(y) and x != y or x in ("", "a")
            for w, fw in zip(L.FAKE_WORD.findall(x), L.FAKE_WORD.findall(y), strict=True):
                assert fake.setdefault(w.lower(), fw.lower()) == fw.lower(), w  # the same word, the same fake
    for k in ("branches", "owners", "pr_branches"):
        for (w, n), (fw, fn) in zip(m[k], a[k], strict=True):
            assert n == fn and len(w) == len(fw) and w != fw
            for x, y in zip(L.FAKE_WORD.findall(w), L.FAKE_WORD.findall(fw), strict=True):
                assert fake.setdefault(x.lower(), y.lower()) == y.lower(), x
    slots = re.compile(r"\{\w\}")  # merge templates: their words made up, their slots kept
    assert [slots.findall(t) for t, _ in a["merges"]] == [slots.findall(t) for t, _ in m["merges"]]
    assert all(t != ft for (t, _), (ft, _) in zip(m["merges"], a["merges"], strict=True))
    M.validate(anon)


@pytest.mark.parametrize("change, field", [
    (lambda m: m.update(chain=[]), "messages.chain"),
    (lambda m: m["chain"].update(starts=[["two words", 1]]), "messages.chain.starts"),
    (lambda m: m["chain"].update(starts=[["Add", 0]]), "messages.chain.starts"),
    (lambda m: m["chain"]["next"].update(Add=[["the", "3"]]), "messages.chain.next.Add"),
    (lambda m: m["chain"]["next"].update({"a b": [["c", 1]]}), "messages.chain.next"),
    (lambda m: m["chain"].update(next2=[]), "messages.chain.next2"),
    (lambda m: m["chain"]["next2"].update({"Add": [["the", 1]]}), "messages.chain.next2"),
    (lambda m: m["chain"]["next2"].update({"Add the": [["two words", 1]]}), "messages.chain.next2.Add the"),
    (lambda m: m.update(branches="stable"), "messages.branches"),
    (lambda m: m.update(owners=[["alice"]]), "messages.owners"),
    (lambda m: m["capitalized"].update(plain=1.5), "messages.capitalized.plain"),
    (lambda m: m.update(capitalized={}), "messages.capitalized.p"),
])
def test_validate_names_a_malformed_chain_or_vocabulary(chained_profile, change, field):
    from hgharness.errors import HarnessError

    p = json.loads(json.dumps(chained_profile))
    change(p["messages"])
    with pytest.raises(HarnessError, match=re.escape(f": {field}: ")) as e:
        M.validate(p, "x.json")
    assert "\n" not in str(e.value)


def test_a_walk_keeps_to_the_chain_and_near_its_length():
    chain_dict = {"starts": [["Add", 3], ["Fix", 1]],
                  "next": {"Add": [["the", 2], ["a", 1]], "Fix": [["the", 1]], "the": [["option", 1], ["parser", 1]],
                           "a": [["test", 1]], "option": [["", 2], ["for", 1]], "parser": [["", 1], ["in", 1]],
                           "test": [["", 1], ["for", 1]], "for": [["the", 1]], "in": [["the", 1]]}}
    chain = L.Chain(chain_dict)
    pairs = {("Add", "the"), ("Add", "a"), ("Fix", "the"), ("the", "option"), ("the", "parser"), ("a", "test"),
             ("option", "for"), ("parser", "in"), ("test", "for"), ("for", "the"), ("in", "the")}
    rng = random.Random(3)
    for length in (5, 14, 30, 60, 90):
        for _ in range(50):
            toks = [chain.text[i] for i in chain.walk(rng.random, length)]
            assert toks[0] in ("Add", "Fix") and set(zip(toks, toks[1:], strict=False)) <= pairs, toks
            assert toks[-1] in ("option", "parser", "test"), toks  # where a line may end
            assert abs(len(" ".join(toks)) - length) <= max(8, length // 5) + 8, (length, toks)
    # a pair's own successors first: after 'Add the' only 'option' (the single 'the' goes on with 'parser' too)
    chain = L.Chain({**chain_dict, "next2": {"Add the": [["option", 1]], "for the": [["parser", 1]]}})
    seen = Counter()
    for length in (14, 30, 60):
        for _ in range(50):
            toks = [chain.text[i] for i in chain.walk(rng.random, length)]
            for a, b, c in zip(toks, toks[1:], toks[2:], strict=False):
                seen[(a, b, c)] += 1
    assert seen[("Add", "the", "option")] and not seen[("Add", "the", "parser")]
    assert seen[("for", "the", "parser")] and not seen[("for", "the", "option")]
    assert seen[("Fix", "the", "option")] and seen[("Fix", "the", "parser")]


def test_quotes_and_brackets_are_paired():
    assert L._balanced('Revert "Avoid laziness') == "Revert Avoid laziness"
    assert L._balanced("Use `edit` and `x") == "Use `edit` and x"
    assert L._balanced("Fix (#12) call) (see") == "Fix (#12) call see"
    assert L._balanced('Revert "Avoid laziness" (#3)') == 'Revert "Avoid laziness" (#3)'


def test_capitalized_shares_of_lines_with_and_without_a_prefix_form():
    """pallets/click's lines after '[pre-commit.ci] ' or 'docs: ' are mostly lower case, the others capitalized
    more often than the share over all lines says: with a chain, each kind draws its own."""
    m = {"prefix": {"mix": {"component": 1, "none": 1}}, "suffix": {"mix": {"none": 1}},
         "numbers": {"values": [7], "weights": [1]}, "components": [["docs", 1]], "reviewers": [],
         "words": [["add", 1]], "capitalized": {"p": 0.5, "plain": 1.0, "prefixed": 0.0}, "period": {"p": 0.0},
         "merges": [], "chain": {"starts": [["Add", 1]], "next": {"Add": [["tests", 1]], "tests": [["", 1]]}}}
    msgs = L.Messages(random.Random(4), m, M.MixSampler, M.Sampler)
    lines = Counter(msgs.summary(20) for _ in range(200))
    assert set(lines) == {"docs: add tests", "Add tests"}, lines
    m["capitalized"] = {"p": 0.0}  # a profile before them: p for both
    msgs = L.Messages(random.Random(4), m, M.MixSampler, M.Sampler)
    assert {msgs.summary(20) for _ in range(100)} == {"docs: add tests", "add tests"}
