"""The suites run by hand with pytest (the plugin registered by entry point), as QA people who live in pytest do:
they find the target from --target, and leave nothing behind in the temporary directory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("workers", ["0", "2"])
def test_pytest_suites_by_hand_against_a_target_leaves_nothing_in_tmp(hgweb_server, tmp_path, workers):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "suites/headless/test_smoke.py"), "--target",
                        hgweb_server.url, "-q", "-p", "no:cacheprovider", "-n", workers],
                       cwd=tmp_path, env=clean_env(TMPDIR=str(tmp)), capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and "hgharness:" in p.stdout, p.stdout[-2000:]  # the plugin's count of checks
    ours = [x.name for x in tmp.iterdir() if not x.name.startswith("pytest-of-")]  # pytest keeps its own, by design
    assert not ours, f"left behind: {ours}"
