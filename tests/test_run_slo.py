"""`hgharness run --slo FILE` (env HGHARNESS_SLO): one gates file for every stage of the run, checked before
anything is started or asked."""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import clean_env, run_cli, target_for

pytestmark = [pytest.mark.integration]

# far below any real latency: every judged latency gate of these actions fails
STRICT = """
[min_samples]
p50_ms = 1
[aggregate]
p50_ms = 0.001
[actions.pull]
p50_ms = 0.001
"""


class CountingSite(ThreadingHTTPServer):
    """A loopback site that counts the connections it accepts (and answers 500 to every request)."""
    connections = 0

    def verify_request(self, request, client_address):
        self.connections += 1
        return True


class Fail(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(500)

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_site():
    server = CountingSite(("127.0.0.1", 0), Fail)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("content, says, how", [(None, "not found", "--slo"),
                                                ('[actions.pull]\np50_ms = "fast"\n', "actions.pull.p50_ms", "--slo"),
                                                ("[defaults\n", "malformed", "env")])
def test_a_bad_slo_file_is_one_line_before_any_connection(counting_site, tmp_path, content, says, how):
    server, url = counting_site
    slo = tmp_path / "slo.toml"
    if content is not None:
        slo.write_text(content)
    args, env = (["--slo", slo], {}) if how == "--slo" else ([], {"HGHARNESS_SLO": slo})
    r = run_cli("run", "--target", url, "--allow-load", *args, "--runs-dir", tmp_path / "runs",
                env=clean_env(**env), timeout=60)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and says in lines[0] and str(slo) in lines[0], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert server.connections == 0 and not (tmp_path / "runs").exists()


def test_the_traffic_and_load_stages_judge_by_the_runs_slo_file(writable_hgweb, tmp_path, monkeypatch):
    """The same healthy server: the file's impossible pull and aggregate medians fail the traffic and load stages
    by name (the default gates pass it: test_traffic_run, test_load_stage)."""
    from hgharness.fixtures.traffic_cli import stage_traffic
    from hgharness.load.cli import stage_load
    from hgharness.session import StageContext

    slo = tmp_path / "strict.toml"
    slo.write_text(STRICT)
    monkeypatch.setenv("HGHARNESS_TRAFFIC_DURATION", "4")
    monkeypatch.setenv("HGHARNESS_LOAD_DURATION", "6")
    ctx = StageContext(target_for(writable_hgweb), tmp_path, argparse.Namespace(slo=str(slo)), print,
                       server=writable_hgweb)

    traffic = stage_traffic(ctx)
    gates = {g["gate"]: g for g in traffic.slo}
    assert traffic.status == "failed", traffic.detail
    assert {name for name, g in gates.items() if g["status"] == "failed"} == {"pull.p50_ms"}, gates
    assert json.loads((tmp_path / "traffic.json").read_text())["lost"] == 0  # slow, by the file: nothing lost

    load = stage_load(ctx)
    gates = {g["gate"]: g for g in load.slo}
    assert load.status == "failed" and gates["aggregate.p50_ms"]["status"] == "failed", load.detail
    assert (tmp_path / "slo.json").exists()
