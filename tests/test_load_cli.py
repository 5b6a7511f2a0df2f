"""`hgharness load` refuses what it must refuse, with one line and exit 2, before starting anything."""

import pytest

from tests.conftest import clean_env, run_cli

pytestmark = [pytest.mark.load]

REMOTE = "http://203.0.113.9/hg/"  # TEST-NET-3: not loopback; nothing is listening, nothing may be sent


@pytest.mark.parametrize("extra", [[], ["--worker", "--master-host", "127.0.0.1"], ["--workers", "2"]])
def test_non_loopback_target_is_refused_before_any_traffic(tmp_path, extra):
    r = run_cli("load", "--target", REMOTE, "--duration", 5, "--runs-dir", tmp_path / "runs", *extra,
                timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing load traffic to non-loopback target 203.0.113.9" in lines[0], r.stderr
    assert not (tmp_path / "runs").exists(), "nothing may start for a refused target, not even a run directory"
    assert "connect" not in r.stderr.lower()  # refused, not tried


def test_allow_load_false_in_targets_file_is_refused_even_on_loopback(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.local]\nurl = "http://127.0.0.1:9/"\nallow_load = false\n')
    r = run_cli("load", "--target", "local", "--config", cfg, "--runs-dir", tmp_path / "runs", timeout=60)
    assert r.returncode == 2 and "refusing load traffic" in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, message", [
    (["--mix", "nope"], "unknown mix 'nope'"),
    (["--users", "999999"], "--users must be between 1 and"),
    (["--duration", "90x"], "bad duration '90x'"),
    (["--duration", "48h"], "--duration must be between"),
    (["--spawn-rate", "0"], "--spawn-rate must be above 0"),
    (["--workers", "-1"], "--workers and --remote-workers must be >= 0"),
    (["--shape", "wave"], "invalid choice: 'wave'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    # a loopback target nobody listens on: validation must fail before any connection is tried
    r = run_cli("load", "--target", "http://127.0.0.1:9/", "--runs-dir", tmp_path / "runs", *args,
                env=clean_env(HGHARNESS_FIXTURE_DIR=tmp_path), timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_bad_slo_file_is_refused(tmp_path):
    slo = tmp_path / "slo.toml"
    slo.write_text("[actions.log]\np95 = 100\n")
    r = run_cli("load", "--target", "http://127.0.0.1:9/", "--slo", slo, "--runs-dir", tmp_path / "runs",
                timeout=60)
    assert r.returncode == 2 and "actions.log.p95 is not a metric" in r.stderr, r.stderr


def test_unreachable_loopback_target_is_a_harness_error(tmp_path):
    r = run_cli("load", "--target", "http://127.0.0.1:9/", "--mix", "browse-heavy", "--runs-dir", tmp_path / "runs",
                env=clean_env(HGHARNESS_FIXTURE_DIR=tmp_path), timeout=60)
    assert r.returncode == 2 and "unreachable" in r.stderr, r.stderr


def test_slo_file_with_a_misplaced_metric_is_refused(tmp_path):
    slo = tmp_path / "slo.toml"
    slo.write_text("p50_ms = 100\n[defaults]\np95_ms = 100\n")  # p50_ms outside any table: would gate nothing
    r = run_cli("load", "--target", "http://127.0.0.1:9/", "--slo", slo, "--runs-dir", tmp_path / "runs",
                timeout=60)
    assert r.returncode == 2 and "unknown top-level key(s) p50_ms" in r.stderr, r.stderr


@pytest.mark.integration
def test_sigterm_stops_master_and_workers(tmp_path, seed_repos):
    import signal
    import subprocess
    import sys

    import psutil

    from hgharness.procs import wait_until
    from tests.conftest import ROOT
    from tests.load_helpers import delayed_server

    with delayed_server(tmp_path / "server") as url:
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "load", "--target", url, "--mix", "browse-heavy",
                                 "--users", "2", "--duration", "300", "--workers", "1", "--runs-dir", str(tmp_path / "runs")],
                                cwd=ROOT, env=clean_env(HGHARNESS_FIXTURE_DIR=seed_repos),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def running_locusts():
                kids = psutil.Process(proc.pid).children(recursive=True)
                return [k for k in kids if "locust" in " ".join(k.cmdline())]

            wait_until(lambda: any("All users spawned" in p.read_text(errors="replace")
                                   for p in (tmp_path / "runs").rglob("locust.log")), what="users spawned")
            kids = running_locusts()
            assert kids and len(kids) >= 2, kids
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) != 0
        finally:
            if proc.poll() is None:
                proc.kill()
    _, alive = psutil.wait_procs(kids, timeout=10)
    assert not alive, f"left running: {[k.cmdline() for k in alive]}"


@pytest.mark.parametrize("args, message", [
    (["--server-wrap", "no_such_module_here:wrap"], "no module 'no_such_module_here' importable"),
    (["--server-wrap", "tests.ab_builds"], "expected MODULE:CALLABLE"),
    (["--server-wrap", "tests.ab_builds:slower_pages", "--front", "nginx"], "leave out --front"),
    (["--server-wrap", "tests.ab_builds:slower_pages", "--target", "http://127.0.0.1:9/"],
     "wraps the embedded hgweb target"),
])
def test_a_bad_server_wrap_is_one_line_before_any_server_starts(tmp_path, args, message):
    r = run_cli("load", "--baseline", "embedded", "--runs-dir", tmp_path / "runs", *args, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "starting hgweb" not in r.stdout and not (tmp_path / "runs").exists()
