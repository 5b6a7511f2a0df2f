"""The CLI as a user meets it: bad input gives one line and exit 2; serve, push, run; nothing left behind."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from hgharness.procs import wait_until
from tests.conftest import ROOT, clean_env, run_cli

pytestmark = pytest.mark.integration


def assert_one_line_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_unreachable_target_exits_2_naming_it():
    p = run_cli("run", "--target", "http://127.0.0.1:9", timeout=60)
    assert_one_line_error(p, "http://127.0.0.1:9/", "unreachable", "connection refused")


def test_bad_scheme_exits_2():
    assert_one_line_error(run_cli("run", "--target", "ftp://x"), "ftp://x", "http or https")


def test_malformed_config_exits_2_naming_the_line(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.prod]\nurl = "http://127.0.0.1:9/"\n\nallow_load = yes please\n')
    assert_one_line_error(run_cli("run", "--config", cfg, "--target", "prod"), str(cfg), "line 4")


def test_unknown_site_exits_2_listing_known_ones():
    assert_one_line_error(run_cli("run", "--site", "gitlab"), "gitlab", "hgweb", "kallithea")
    assert_one_line_error(run_cli("run", "--target", "http://127.0.0.1:9/", "--site", "gitlab"), "hgweb, kallithea")


def test_unknown_option_exits_2():
    p = run_cli("run", "--no-such-option")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def _hg(*args, cwd=None, check=True):
    env = clean_env(HGRCPATH=os.devnull, HGPLAIN="1", HGUSER="tester <t@example.org>")
    return subprocess.run([str(ROOT / ".venv/bin/hg") if (ROOT / ".venv/bin/hg").exists() else "hg", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=check)


def _start_serve(tmp_path, *extra):
    env = clean_env(HGHARNESS_PASSWORD="serve-secret-42")
    out = tmp_path / "serve.out"
    f = open(out, "w")
    proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", "--workdir", str(tmp_path / "w"), *extra],
                            cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, text=True)
    url = wait_until(lambda: (m := re.search(r"URL=(\S+)", out.read_text())) and m.group(1),
                     timeout=120, what="hgharness serve to print its URL")
    return proc, url, out


def test_serve_push_needs_the_right_credentials(tmp_path):
    proc, url, out = _start_serve(tmp_path)
    try:
        repo = re.search(r"repositories: ([^,\s]+)", out.read_text()).group(1)
        clone = tmp_path / "clone"
        _hg("clone", url + repo, str(clone))
        (clone / "new-file.txt").write_text("pushed by the test\n")
        _hg("add", "new-file.txt", cwd=clone)
        _hg("commit", "-m", "test push", cwd=clone)
        auth = lambda user, pw: ["--config", f"auth.t.prefix={url}", "--config", f"auth.t.username={user}",  # noqa
                                 "--config", f"auth.t.password={pw}"]
        anon = _hg("push", url + repo, cwd=clone, check=False)
        assert anon.returncode != 0 and ("authorization" in anon.stderr or "401" in anon.stderr), anon.stderr
        wrong = _hg("push", url + repo, *auth("hgharness", "wrong"), cwd=clone, check=False)
        assert wrong.returncode != 0, wrong.stdout
        ok = _hg("push", url + repo, *auth("hgharness", "serve-secret-42"), cwd=clone, check=False)
        assert ok.returncode == 0, ok.stderr
        check = tmp_path / "check"
        _hg("clone", "-U", url + repo, str(check))
        assert "test push" in _hg("log", "-r", "tip", "-T", "{desc}", cwd=check).stdout
        assert "serve-secret-42" not in out.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert "stopping" in out.read_text()


def _children(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_process_behind(tmp_path, sig):
    env = clean_env()
    proc = subprocess.Popen([sys.executable, "-m", "hgharness", "run", "--stages", "headless",
                             "--runs-dir", str(tmp_path / "runs")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    servers = wait_until(lambda: [c for c in _children(proc.pid) if "gunicorn" in " ".join(c.cmdline())],
                         timeout=120, what="the embedded server to start")
    pids = {c.pid for c in _children(proc.pid)} | {s.pid for s in servers}
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"hgharness run did not end after signal {sig}; its output:\n{out[-3000:]}") from None
    assert proc.returncode != 0
    wait_until(lambda: not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"],
               timeout=30, what="every server process to be gone")
    assert "Traceback" not in out


def test_a_command_that_fails_to_start_leaves_nothing_in_tmp(tmp_path):
    """serve, run and load refused before (or while) starting their embedded target remove what they made."""
    for args in (("serve", "--site", "gitlab"), ("run", "--site", "gitlab"), ("load", "--site", "gitlab"),
                 ("serve", "--front", "nginx", "--prefix", "/bad prefix")):
        p = run_cli(*args, env=clean_env(TMPDIR=str(tmp_path)), timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert not list(tmp_path.iterdir()), (args, sorted(x.name for x in tmp_path.iterdir()))


# --- strict targets.toml and environment types (issue 16 item 4) ------------------------------------------------
# Port 9 on loopback: nothing listens, and the type error must come before any connection is tried.

@pytest.mark.parametrize("command", [("run",), ("traffic", "--duration", "5"), ("load",)])
def test_a_string_false_is_refused_before_any_connection(tmp_path, command):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.staging]\nurl = "http://127.0.0.1:9/"\nallow_load = "false"\n')
    p = run_cli(*command, "--config", cfg, "--target", "staging", timeout=120)
    assert_one_line_error(p, f'{cfg}: [targets.staging] allow_load must be true or false, not the string "false"')
    assert "unreachable" not in p.stderr


@pytest.mark.parametrize("line", ['insecure = "false"', "url = 5", "site = 1", "repos = 7", 'disable = "archives"',
                                  "username = [1]", "ca_bundle = {x = 1}", "header_policy = 1.5"])
def test_no_wrongly_typed_key_is_an_internal_error(tmp_path, line):
    cfg = tmp_path / "targets.toml"
    key = line.split(" = ")[0]
    url = "" if key == "url" else 'url = "http://127.0.0.1:9/"\n'
    cfg.write_text(f"[targets.staging]\n{url}{line}\n")
    p = run_cli("run", "--config", cfg, "--target", "staging", timeout=120)
    assert_one_line_error(p, f"{cfg}: [targets.staging] {key} must be")
    assert "internal error" not in p.stderr and "unreachable" not in p.stderr


def test_a_boolean_environment_variable_with_another_word_exits_2_naming_it():
    env = clean_env(HGHARNESS_ALLOW_LOAD="nope")
    p = run_cli("run", "--target", "http://127.0.0.1:9/", env=env, timeout=120)
    assert_one_line_error(p, "environment variable HGHARNESS_ALLOW_LOAD must be 1/0/true/false/yes/no, not 'nope'")


# --- serve (issue 16 item 9) ------------------------------------------------------------------------------------

def _serve(tmp_path, *args, out_name="serve.out"):
    out = tmp_path / out_name
    f = open(out, "w")
    proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", *args], cwd=ROOT,
                            env=clean_env(HGHARNESS_PASSWORD="serve-secret-42", TMPDIR=str(tmp_path)),
                            stdout=f, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: "URL=" in out.read_text() or proc.poll() is not None, timeout=120,
               what="hgharness serve to print its URL")
    assert "URL=" in out.read_text(), out.read_text()
    return proc, out


def test_serve_says_why_its_server_died_after_removing_the_temp_dir(tmp_path):
    proc, out = _serve(tmp_path)
    logs = Path(re.search(r"logs: (\S+)", out.read_text()).group(1))
    master = wait_until(lambda: next((c for c in _children(proc.pid) if "gunicorn" in " ".join(c.cmdline())
                                      and c.ppid() == proc.pid), None), timeout=30, what="the gunicorn master")
    master.terminate()  # gunicorn shuts down cleanly: its error log ends with the master's last words
    assert proc.wait(60) == 2
    text = out.read_text()
    message = text.strip().splitlines()[-1]
    assert message.startswith("hgharness serve: the server exited unexpectedly (its logs went with the temp dir")
    assert "last log line:" in message and "Shutting down" in message, text
    assert f"last lines of {logs.name}:" in text and "Listening at" in text  # the log's tail, kept on stderr
    assert not logs.exists() and not list(tmp_path.glob("hgharness-*"))
    assert "serve-secret-42" not in text


def test_serve_reuses_an_existing_workdir(tmp_path):
    workdir = tmp_path / "w"
    for n in (1, 2):
        proc, out = _serve(tmp_path, "--workdir", workdir, out_name=f"serve{n}.out")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, out.read_text()
    assert f"reusing the repositories in {workdir / 'repos'}" in out.read_text()
    p = run_cli("serve", "--workdir", workdir, "--set", "tiny", timeout=120)
    assert_one_line_error(p, f"--workdir {workdir} holds fixture set 'standard', not 'tiny'")
