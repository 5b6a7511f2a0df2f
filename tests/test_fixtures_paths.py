"""The learned directory tree (#19, fixtures/paths.py): `analyze` learns which directories hold which files, the
generator places new files as the source does (test_*.py under tests/, .rst under docs/, images where the source
keeps its own, no top-level directory the source lacks), `--anonymize` replaces the project's words of it
consistently and keeps the conventional ones; profiles without the key still generate (as before); bad values name
the field.

The source is a small hand-made history with a known tree (built in-process with `hg`)."""

from __future__ import annotations

import json
import random
import re

import pytest

from hgharness.errors import HarnessError
from hgharness.fixtures import model as M
from hgharness.fixtures import paths as P
from hgharness.fixtures.analyze import analyze
from hgharness.fixtures.generate import generate

PKG = "quillmonger"  # the project's own word: a package and a doc page
MODS = "__init__ core parsing widgets _compat registry formatting lanterns".split()
TESTS = "basic parsing widgets registry formatting lanterns cli options context chain".split()
DOCS = f"index api tutorial changelog {PKG} quickstart faq glossary".split()
PNG = (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8"
       b"\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """src/quillmonger/*.py, tests/test_*.py and conftest.py, docs/*.rst, conf.py and _static/*.png, README.rst
    and pyproject.toml; 12 commits that add the files and edit them."""
    repo = tmp_path_factory.mktemp("paths") / PKG
    from mercurial import dispatch

    try:  # Mercurial 7.2 moved the request class; older releases keep it in dispatch
        from mercurial.main_script import request
    except ImportError:
        request = dispatch.request

    def hg(*args):
        assert dispatch.dispatch(request([b"--cwd", str(repo).encode(), b"--config", b"ui.username=Q <q@example.org>",
                                          *(a.encode() for a in args)])) == 0, args

    rng = random.Random(5)
    files = {"README.rst": f"{PKG}\n====\n", "pyproject.toml": f'[project]\nname = "{PKG}"\n',
             "tests/conftest.py": "import pytest\n", "docs/conf.py": f"project = '{PKG}'\n"}
    files |= {f"src/{PKG}/{m}.py": f"def {m.strip('_')}():\n    return 1\n" for m in MODS}
    files |= {f"tests/test_{t}.py": f"def test_{t}():\n    assert True\n" for t in TESTS}
    files |= {f"docs/{d}.rst": f"{d.title()}\n----\n\nText of {d}.\n" for d in DOCS}
    repo.mkdir()
    hg("init")
    names = sorted(files)
    for i in range(12):
        for name in names[i::6] if i < 6 else rng.sample(names, 4):
            p = repo / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(files[name] + f"# {i}\n" * (i >= 6))
        if i == 3:
            (repo / "docs/_static").mkdir(exist_ok=True)
            for k in ("logo", "icon"):
                (repo / f"docs/_static/{k}.png").write_bytes(PNG)
        hg("addremove", "-q")
        hg("commit", "-m", f"change {i}", "-d", f"{1600000000 + i * 3600} 0")
    return repo


@pytest.fixture(scope="module")
def learned(source):
    return analyze(source)


@pytest.fixture(scope="module")
def tip(learned, tmp_path_factory):
    path = tmp_path_factory.mktemp("paths-gen") / "gen"
    generate(learned, 250, 1, path)
    from hgharness.hg import open_repo

    return [f.decode() for f in open_repo(path)[b"tip"].manifest()]


def test_analyze_learns_the_tree(learned):
    dirs = {e["path"]: e for e in learned["paths"]["dirs"]}
    assert set(dirs) == {"", "src", f"src/{PKG}", "tests", "docs", "docs/_static"}
    assert dirs["tests"]["first"] == {".py": [["test", len(TESTS)], ["conftest", 1]]}
    assert dirs["docs"]["exts"] == {".rst": len(DOCS), ".py": 1}
    assert dirs["docs/_static"]["exts"] == {".png": 2}
    assert dirs[""]["files"] == 0  # README.rst and pyproject.toml are names.top_files, placed by the generator
    assert ["__init__", 1] in dirs[f"src/{PKG}"]["first"][".py"] and ["_compat", 1] in dirs[f"src/{PKG}"]["first"][".py"]
    assert dirs["src"]["files"] == 0 and not dirs["src"]["first"]


def test_generated_paths_follow_the_source_tree(tip):
    files = [f for f in tip if f != ".hgtags"]
    assert len(files) > 60  # more than the source's 31: directories beyond the learned ones were made too
    top_dirs = {f.split("/")[0] for f in files if "/" in f}
    assert top_dirs <= {"src", "tests", "docs"}, top_dirs  # stated tolerance: no top-level directory the source lacks
    tests = [f for f in files if f.startswith("tests/")]
    assert tests and all(f.endswith(".py") for f in tests), tests
    named = [f for f in tests if f.rsplit("/", 1)[1].startswith("test_")]
    assert len(named) >= 0.75 * len(tests), tests
    assert all(f.startswith("tests/") for f in files if f.rsplit("/", 1)[-1].startswith("test_")), files
    docs = [f for f in files if f.startswith("docs/") and not f.startswith("docs/_static/")]
    assert sum(f.endswith(".rst") for f in docs) >= 0.75 * len(docs), docs
    assert all(f.startswith(("docs/_static/", "docs/")) for f in files if f.endswith(".png"))
    assert all(f.endswith(".py") or f.endswith(".typed") for f in files if f.startswith("src/")), files
    assert not [f for f in files if re.match(r"\d+_", f.rsplit("/", 1)[-1])]
    assert {"README.rst", "pyproject.toml"} <= set(files)


def test_anonymize_replaces_project_words_consistently_and_keeps_conventions(source):
    anon = analyze(source, anonymize=True)
    dirs = {e["path"]: e for e in anon["paths"]["dirs"]}
    assert {"", "src", "tests", "docs", "docs/_static"} <= set(dirs)  # conventional names: kept
    pkg = [p for p in dirs if p.startswith("src/")]
    assert len(pkg) == 1 and PKG not in pkg[0]
    fake = pkg[0].split("/")[1]
    assert len(fake) == len(PKG)
    # the same word, the same made-up word: the package directory and the doc page named after it
    assert [fake, 1] in dirs["docs"]["first"][".rst"]
    assert dirs["tests"]["first"][".py"] == [["test", len(TESTS)], ["conftest", 1]]
    assert ["__init__", 1] in dirs[pkg[0]]["first"][".py"]
    words = P.words(anon["paths"])
    assert not words & ({"quillmonger", "lanterns", "registry", "widgets", "formatting", "parsing", "tutorial"}
                        - P.PUBLIC)
    M.validate(json.loads(json.dumps(anon)))


def test_a_profile_without_paths_generates_its_history_of_before(learned, tmp_path):
    """Without the key the tree is drawn as before, from depth, files_per_dir and names: directories the source
    does not have, another history than with the key."""
    old = json.loads(json.dumps(learned))
    del old["paths"]
    generate(M.validate(old), 120, 2, tmp_path / "old")
    again = json.loads(json.dumps(old))
    again["paths"] = learned["paths"]
    generate(M.validate(again), 120, 2, tmp_path / "new")
    from hgharness.hg import open_repo

    files = {f.decode() for f in open_repo(tmp_path / "old")[b"tip"].manifest()}
    assert len(files) > 30
    assert {f.split("/")[0] for f in files if "/" in f} - {"src", "tests", "docs"}  # dirs of the names model
    assert open_repo(tmp_path / "old")[b"tip"].hex() != open_repo(tmp_path / "new")[b"tip"].hex()


@pytest.mark.parametrize("change, field", [
    (lambda p: p.update(dirs="x"), "paths.dirs:"),
    (lambda p: p.update(extra=1), "paths:"),
    (lambda p: p["dirs"][0].update(exts={".py": -1}), "paths.dirs[0].exts:"),
    (lambda p: p["dirs"][1].update(path="../up"), "paths.dirs[1].path:"),
    (lambda p: p["dirs"][0].update(first={".py": [["a"]]}), "paths.dirs[0].first.py:"),
    (lambda p: p["dirs"][0].update(joiners={"+": 1}), "paths.dirs[0].joiners:"),
    (lambda p: p["dirs"][0].pop("rest"), "paths.dirs[0]:"),
])
def test_bad_paths_values_name_the_field(learned, change, field):
    bad = json.loads(json.dumps(learned))
    change(bad["paths"])
    with pytest.raises(HarnessError) as e:
        M.validate(bad, "p.json")
    msg = str(e.value)
    assert field in msg and "\n" not in msg, msg
