"""One embedded Kallithea per test session (per xdist worker), shared by every Kallithea test module.

Pytest would make one session fixture per module that imports it, so the server itself is cached here and
stopped when the session ends. Each test using it checks afterwards that the server logged no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_server = None


def _start(request, seed_repos: Path):
    global _server
    if _server is None:
        from hgharness.kallithea.server import EmbeddedKallithea

        names = sorted(p.name for p in Path(seed_repos).iterdir() if (p / ".hg").is_dir())
        workdir = request.config._tmp_path_factory.mktemp("kallithea")
        server = EmbeddedKallithea({n: Path(seed_repos) / n for n in names}, workdir=workdir)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        request.config.add_cleanup(server.stop)
        _server = server
    return _server


@pytest.fixture(scope="session")
def kallithea(request, seed_repos):
    """The shared embedded Kallithea (fixture set provisioned, downloads on, push user and admin API key)."""
    return _start(request, seed_repos)


@pytest.fixture
def kallithea_target(kallithea):
    """A Target for the shared server; after the test, its log must hold no traceback."""
    yield kallithea.target()
    tracebacks = kallithea.tracebacks()
    assert not tracebacks, "Kallithea logged tracebacks:\n" + "\n".join(tracebacks)


def suite_env(server, **extra) -> dict:
    from tests.conftest import clean_env

    return clean_env(**server.target().to_env(), **extra)
