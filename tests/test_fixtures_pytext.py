"""Generated Python that a person would not tell from a project's (#19): each module starts as real ones do (a
one-line docstring or not, then imports sorted as isort sorts them), the header a file was born with stays through
its edits, and no statement follows a `return` in its block. Every version still parses and compiles."""

from __future__ import annotations

import ast

import pytest

from hgharness.fixtures import pytext as PT
from hgharness.fixtures.generate import generate

COMMITS = 300


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from hgharness.hg import open_repo

    out = tmp_path_factory.mktemp("pytext") / "small"
    generate("small", COMMITS, 1, out)
    return open_repo(out)


def _py_files(repo):
    return sorted(f for f in repo[b"tip"].manifest() if f.endswith(b".py") and repo[b"tip"][f].flags() != b"l")


def _versions(repo, f):
    fl = repo.file(f)
    return [fl.read(fl.node(i)) for i in range(len(fl))]


def _header(data: bytes) -> bytes:
    return data[:PT.header_end(data)]


def test_no_module_says_it_is_generated(small):
    seen = 0
    for f in _py_files(small):
        for data in _versions(small, f):
            assert b"Generated module" not in data, f
            seen += 1
    assert seen >= 50


def _isort_key(line: str) -> tuple:
    """isort's order in a section: `import x` lines, then `from x import y` lines, each by module name."""
    words = line.split()
    return (words[0] == "from", words[1].lower())


def test_most_modules_import_something_and_the_imports_are_sorted(small):
    files = _py_files(small)
    with_imports = 0
    for f in files:
        data = small[b"tip"][f].data()
        ast.parse(data)
        head = _header(data).decode()
        lines = [x for x in head.split("\n") if not x.startswith(("#!", '"""'))]
        sections = [s.split("\n") for s in "\n".join(lines).strip("\n").split("\n\n") if s]
        with_imports += bool(sections)
        for sec in sections:
            assert all(x.startswith(("import ", "from ")) for x in sec), (f, sec)
            assert sec == sorted(sec, key=_isort_key), (f, sec)
            for x in sec:  # imported names: CONSTANTS, Classes, others (isort's order_by_type)
                if x.startswith("from "):
                    names = x.split(" import ")[1].split(", ")
                    assert names == sorted(names, key=PT._by_type), (f, x)
        kinds = [("future" if sec[0].startswith("from __future__") else "relative" if sec[0].startswith("from .")
                  else "absolute") for sec in sections]
        assert kinds == sorted(kinds, key=["future", "absolute", "relative"].index), (f, kinds)
        assert not any(x.startswith("from .") for x in sum(sections[:-1], [])), f
    assert len(files) >= 20
    assert with_imports >= 0.7 * len(files), (with_imports, len(files))


def test_every_version_compiles_and_no_statement_follows_a_return(small):
    """compile(), not only ast.parse: a `return` outside a function (under a top-level `if`) parses but does not
    compile. A statement after `return` in the same block is dead code no project keeps."""
    checked = 0
    for f in _py_files(small):
        for data in _versions(small, f):
            tree = compile(data, f.decode(), "exec", ast.PyCF_ONLY_AST)
            compile(tree, f.decode(), "exec")
            for node in ast.walk(tree):
                for field in ("body", "orelse"):
                    block = getattr(node, field, None)
                    if isinstance(block, list) and block:
                        ends = [i for i, s in enumerate(block) if isinstance(s, (ast.Return, ast.Raise, ast.Pass))]
                        assert not ends or ends[0] == len(block) - 1, (f, block[ends[0]].lineno)
            checked += 1
    assert checked >= 50


def test_a_module_keeps_its_header_through_its_edits(small):
    """The header a file is born with (shebang, docstring, imports) is there, unchanged, at the tip: edits fall
    in the body only, so diffs never show the imports churn. Its first revision: the root of the tip's filelog
    ancestry (first parents; a copy's root holds its source's text, header included)."""
    edited = 0
    for f in _py_files(small):
        fl = small.file(f)
        node = small[b"tip"][f].filenode()
        last, steps = fl.read(node), 0
        while fl.rev(fl.parents(node)[0]) >= 0:
            node, steps = fl.parents(node)[0], steps + 1
        if not steps:
            continue
        first = fl.read(node)
        assert b"import " in _header(first), (f, first[:80])
        assert _header(first) == _header(last), f
        edited += 1
    assert edited >= 10


def test_analyze_learns_the_docstring_share_and_new_modules_follow_it():
    """The share of modules whose first statement is a docstring (past a shebang, comments and blank lines) is
    learned per profile (text.exts[".py"].docstring) and new modules have one at that share."""
    import copy
    import random

    from hgharness.fixtures import content as C
    from hgharness.fixtures import model as M
    from hgharness.fixtures import textmodel as TM

    learner = TM.Learner()
    learner.add(".py", [b"#!/usr/bin/env python3", b"# a comment", b"", b'"""Tools."""', b"import os"])
    learner.add(".py", [b"'''Tools.'''"])
    learner.add(".py", [b"import os", b'"""not a docstring"""'])
    learner.add(".py", [b"x = 1"] * 300, first=[b'"""Sampled lines need not hold the first."""'])
    learner.add(".txt", [b'"""quoted"""'])
    model = learner.model()["exts"]
    assert model[".py"]["docstring"] == {"p": 0.75} and "docstring" not in model.get(".txt", {})
    TM.validate("test", {"exts": {".py": model[".py"]}})

    for share in (0.1, 0.8):
        profile = copy.deepcopy(M.load_profile("small"))
        profile["text"]["exts"][".py"]["docstring"] = {"p": share}
        content = C.Content(random.Random(1), profile, C.Names(random.Random(1), profile), crng=random.Random(2))
        texts = [content.text(False, False, 500, ".py") for _ in range(400)]
        docs = sum(t.startswith(b'"""') for t in texts) / len(texts)
        assert abs(docs - share) < 0.06, (share, docs)


@pytest.mark.parametrize("crlf", [False, True])
def test_an_executable_module_starts_with_its_shebang_and_edits_keep_its_header(crlf):
    import random

    from hgharness.fixtures import content as C
    from hgharness.fixtures import model as M

    profile = M.load_profile("medium")
    content = C.Content(random.Random(3), profile, C.Names(random.Random(3), profile), crng=random.Random(4))
    eol = b"\r\n" if crlf else b"\n"
    for size in (0, 40, 2000):
        data = content.text(crlf, True, size, ".py")
        head = _header(data)
        assert head.startswith(b"#!/usr/bin/env python3" + eol) and b"import " in head, head
        assert head.endswith(eol + eol + eol), head  # the last import, two blank lines
        for _ in range(60):
            data, _delta = content.edit(data, crlf, ".py", True)
            compile(data, "<generated>", "exec")
            assert _header(data) == head


def test_words_and_names_are_never_cut_short_and_no_statement_is_a_lone_name():
    """Strings and comments end with a whole word of the vocabulary, names are made of whole name words: the
    renderer used to cut its last word to reach a line's length (`versi = 1`, `cmd(ech)`, '"Thi"'). And no line
    is a bare name or number (`    x`, `11`): statements are at least `X = 1` or `    go()` long."""
    import random
    import re

    from hgharness.fixtures import content as C
    from hgharness.fixtures import model as M

    profile = M.load_profile("medium")
    content = C.Content(random.Random(5), profile, C.Names(random.Random(5), profile), crng=random.Random(6))
    d = content.dialect(".py")[0]
    vocab = set(d.corpus.split())
    if d.chain is not None:  # the profile's comment chain speaks (fixtures/chain.py): its whole tokens
        vocab |= set().union(*d.chain.by_len.values())
    cut = 0
    for n in range(3, 70):
        for _ in range(20):
            text = d.fill(n)
            assert len(text) == n, (n, text)
            cut += any(w not in vocab and w.rstrip(".") not in vocab and not w.isdigit() for w in text.split())
    assert cut <= 10, cut  # kept cut only when no word or pair of words has the length (rare)
    toks = set(d.render.tokens())
    for k in range(2, 25):
        for _ in range(30):
            name = d.render.name(k)
            assert len(name) <= k and all(p in toks for p in name.split("_")), (k, name)
    lone = re.compile(rb"\s*(\w|\d+)\s*")
    seen = 0
    for _ in range(40):
        data = content.text(False, False, 3000, ".py")
        for _ in range(10):
            data, _delta = content.edit(data, False, ".py")
        compile(data, "<generated>", "exec")
        for line in data.split(b"\n"):
            assert not lone.fullmatch(line), line
            seen += 1
    assert seen > 2000
