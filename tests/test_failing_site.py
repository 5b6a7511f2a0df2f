"""Issue 16 item 6: a reachable site that fails its front page (HTTP 500 everywhere, or 200 with an empty body) is
a target failure, exit 1 with one line naming what failed, for every command; an unreachable one stays exit 2."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import clean_env, run_cli

pytestmark = pytest.mark.integration


def answering(status: int, body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(params=[(500, b"Internal Server Error"), (200, b"")], ids=["500-everywhere", "empty-200"])
def failing_site(request):
    server = ThreadingHTTPServer(("127.0.0.1", 0), answering(*request.param))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", request.param[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", [("check",), ("load", "--duration", "5s"), ("traffic", "--ops", "3")],
                         ids=lambda c: c[0])
def test_a_site_failing_its_front_page_is_a_target_failure(failing_site, command, tmp_path):
    url, status = failing_site
    p = run_cli(*command, "--target", url, "--runs-dir", tmp_path, env=clean_env(), timeout=120)
    err = p.stderr.strip()
    assert p.returncode == 1, (p.returncode, p.stdout[-2000:], err)
    assert "Traceback" not in p.stdout + p.stderr
    assert len(err.splitlines()) == 1 and "target FAILED" in err and f"HTTP {status}" in err, err


def test_a_bad_worker_count_is_one_line_before_any_work(tmp_path):
    p = run_cli("check", "-n", "abc", "--target", "http://127.0.0.1:9/", "--runs-dir", tmp_path, timeout=60)
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        "hgharness check: -n/--parallel must be a number of workers or 'auto', not 'abc'"], p.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra, words", [
    (("--site", "kallithea"), ()),
    (("--username", "hgharness"), ("credentials",)),
], ids=["wrong-flavour", "wrong-password"])
def test_the_cause_of_a_stage_that_could_not_run_is_on_stderr(hgweb_server, extra, words, tmp_path):
    """Issue 16 item 8: the cause was only in the pytest log, stderr was empty."""
    env = clean_env(HGHARNESS_PASSWORD="not-the-password")
    p = run_cli("check", "--target", hgweb_server.url, *extra, "-m", "smoke", "--runs-dir", tmp_path, env=env,
                timeout=300)
    err = [line for line in p.stderr.splitlines() if line.strip()]
    assert p.returncode in (1, 2) and err, (p.returncode, p.stdout[-3000:], p.stderr)
    if p.returncode == 2:
        assert len(err) == 1 and "the headless stage could not run: " in err[0], err
        assert all(w in err[0] for w in words), err
    assert "not-the-password" not in p.stdout + p.stderr


def test_load_runs_from_any_directory_with_a_relative_runs_dir(hgweb_server, tmp_path):
    """Issue 16 item 1: Locust ran in the project root with a path relative to the caller's directory."""
    p = run_cli("load", "--target", hgweb_server.url, "--duration", "4s", "--users", "2", "--spawn-rate", "2",
                "--runs-dir", "runs", cwd=tmp_path, env=clean_env(), timeout=300)
    assert p.returncode in (0, 1), (p.returncode, p.stdout[-2000:], p.stderr)
    [run] = (tmp_path / "runs").iterdir()
    assert (run / "summary.json").is_file() and (run / "catalog.json").is_file() and (run / "locust.html").is_file()


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range_in_one_line(port, tmp_path):
    """Issue 16 item 8: `serve --port 99999` printed a gunicorn INFO line as its reason."""
    p = run_cli("serve", "--port", port, cwd=tmp_path, timeout=60)
    err = p.stderr.strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1 and "--port" in err and "gunicorn" not in err, err
