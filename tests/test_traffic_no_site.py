"""Items 6 and 8 of issue 16, for the traffic stage: an unreachable target says unreachable (exit 2) and a site
whose index answers HTTP 500 is a target failure (exit 1), never "the target lists no repository"."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hgharness.embedded import free_port


class FailEverywhere(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailEverywhere)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def stage_for(url, tmp_path):
    from hgharness.fixtures.traffic_cli import stage_traffic
    from hgharness.session import StageContext
    from hgharness.target import Target

    return stage_traffic(StageContext(Target(url=url, allow_load=True), tmp_path, None, lambda m: None))


def test_an_unreachable_target_says_unreachable(tmp_path):
    stage = stage_for(f"http://127.0.0.1:{free_port()}/", tmp_path)
    assert stage.exit_code == 2 and stage.status == "error", stage
    assert "unreachable" in stage.detail and "lists no repository" not in stage.detail, stage.detail


def test_a_site_failing_its_index_is_a_target_failure(failing_site, tmp_path):
    stage = stage_for(failing_site, tmp_path)
    assert stage.exit_code == 1 and stage.status == "failed", stage
    assert "HTTP 500" in stage.detail, stage.detail


@pytest.mark.parametrize("content, says", [(None, "not found"), ("[actions.push]\np50_ms = \"fast\"\n", "p50_ms")])
def test_a_bad_slo_file_for_traffic_is_one_line_before_any_connection(failing_site, tmp_path, content, says):
    """`traffic --slo FILE`: a missing or malformed gates file is one line, exit 2, and no request reaches the site
    (the site here answers 500 to everything: a request would have made it exit 1)."""
    from tests.conftest import clean_env, run_cli

    slo = tmp_path / "slo.toml"
    if content is not None:
        slo.write_text(content)
    r = run_cli("traffic", "--target", failing_site, "--duration", 2, "--slo", slo, "--runs-dir", tmp_path / "runs",
                env=clean_env(HGHARNESS_ALLOW_LOAD="1"), timeout=60)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and says in lines[0] and str(slo) in lines[0], r.stderr
    assert not (tmp_path / "runs").exists()
