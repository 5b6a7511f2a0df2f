"""Finding a Python for Kallithea and caching its venv: no suitable Python is one line and exit 2, an
interrupted build is never taken for a cached venv."""

import sys

import pytest

from hgharness.errors import HarnessError
from hgharness.kallithea import venv as kvenv
from tests.conftest import clean_env, run_cli


def _no_python_env(tmp_path, **extra):
    """An environment with no Python 3.8/3.9 anywhere: empty pyenv root and cache, a PATH without them."""
    (tmp_path / "pyenv").mkdir(exist_ok=True)
    return clean_env(PATH="/usr/bin:/bin", PYENV_ROOT=tmp_path / "pyenv", HGHARNESS_CACHE=tmp_path / "cache",
                     **extra)


def test_serve_without_a_suitable_python_exits_2_in_one_line(tmp_path):
    p = run_cli("serve", "--site", "kallithea", env=_no_python_env(tmp_path), timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in p.stdout + p.stderr, err
    assert "Python 3.8" in err and "HGHARNESS_KALLITHEA_PYTHON" in err


def test_an_unsupported_python_is_not_taken(tmp_path):
    env = _no_python_env(tmp_path, HGHARNESS_KALLITHEA_PYTHON=sys.executable)  # 3.11: Kallithea will not install
    with pytest.raises(HarnessError, match="needs Python 3.8"):
        kvenv.find_python(env)


def test_interrupted_build_is_not_taken_for_a_cached_venv(tmp_path):
    env = _no_python_env(tmp_path)
    venv = kvenv.venv_dir(env)
    half = venv.parent / f"{venv.name}.building-4242"  # a build killed half-way
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").symlink_to(sys.executable)
    venv.mkdir()  # a cache dir without the completion marker
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    assert not kvenv.is_ready(venv)
    with pytest.raises(HarnessError, match="needs Python 3.8"):  # so it tries to build (and finds no Python)
        kvenv.ensure_venv(progress=lambda m: None, env=env)
    assert not half.exists() and not venv.exists(), "leftovers of the interrupted build were kept"


def test_cache_is_keyed_on_the_constraints(tmp_path, monkeypatch):
    env = {"HGHARNESS_CACHE": str(tmp_path)}
    first = kvenv.venv_dir(env)
    assert first.parent == tmp_path and first.name.startswith("kallithea-")
    pins = tmp_path / "pins.txt"
    pins.write_text(kvenv.CONSTRAINTS.read_text().replace("waitress==1.4.4", "waitress==1.4.3"))
    monkeypatch.setattr(kvenv, "CONSTRAINTS", pins)
    assert kvenv.venv_dir(env) != first
