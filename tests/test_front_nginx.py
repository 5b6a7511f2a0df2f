"""The embedded target in a deployed shape: nginx in front, TLS from a private CA, under /hg. Real nginx, real
gunicorn+hgweb, real Mercurial client; every test that starts servers checks their logs."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.front import NginxFront, start_hgweb_behind_nginx
from hgharness.http import session
from hgharness.procs import wait_until
from hgharness.target import Target
from tests.conftest import ROOT, clean_env, copy_repos, run_cli

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")),
                                 reason="needs nginx (apt-get install nginx-light)")]

PASSWORD = "front-secret-%d" % os.getpid()


@pytest.fixture(scope="module")
def fronted(seed_repos, tmp_path_factory):
    """hgweb behind nginx + TLS + /hg on a private copy of the fixture set (tests push into it)."""
    base = tmp_path_factory.mktemp("front")
    repos = copy_repos(seed_repos, base / "repos")
    server = start_hgweb_behind_nginx(repos, base / "w", prefix="/hg", tls=True, password=PASSWORD)
    pids = server.pids()
    try:
        yield server
        assert not server.tracebacks(), "server/front logs:\n" + "\n".join(server.tracebacks())
    finally:
        server.stop()
    gone = wait_until(lambda: not [p for p in pids if _running(p)], timeout=30, what="front and server to exit")
    assert gone


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _target(server, **kw):
    opts = dict(url=server.url, username=server.username, password=server.password, ca_bundle=server.ca_file,
                fixture_dir=str(server.repos_dir), allow_load=True, embedded=True)
    opts.update(kw)
    return Target(**opts)


def _repos(server) -> list[str]:
    return sorted(p.name for p in server.repos_dir.iterdir() if (p / ".hg").is_dir())


def _hg(*args, cwd=None, check=True):
    exe = ROOT / ".venv/bin/hg"
    env = clean_env(HGRCPATH=os.devnull, HGPLAIN="1", HGUSER="tester <t@example.org>")
    return subprocess.run([str(exe) if exe.exists() else "hg", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=check)


def _log_lines(path, pattern) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if re.search(pattern, ln)]


# --- the front itself ------------------------------------------------------------------------------------------

def test_site_is_served_under_the_prefix_through_tls(fronted):
    s = requests.Session()
    s.trust_env = False
    s.verify = fronted.ca_file
    r = s.get(fronted.url)
    assert r.status_code == 200 and r.url.startswith("https://")
    links = set(re.findall(r'href="(/[^"]*)"', r.text))
    assert any(u.startswith("/hg/") for u in links), links
    # outside the prefix nginx answers by itself, so a link escaping the prefix is a visible 404
    root = fronted.url.rsplit("/hg/", 1)[0]
    r = s.get(root + "/", allow_redirects=False)
    assert r.status_code == 404 and "nginx" in r.text
    assert s.get(root + "/hg", allow_redirects=False).headers["Location"] == "/hg/"
    # absolute URLs hgweb writes (feeds) point at the front, not at gunicorn's port
    repo = _repos(fronted)[0]
    feed = s.get(fronted.url + f"{repo}/atom-log").text
    assert f'href="{fronted.url}{repo}/' in feed, feed[:400]
    assert f":{fronted.server.port}/" not in feed


def test_clone_through_the_front_with_the_ca_has_every_changeset(fronted, tmp_path):
    target = _target(fronted)
    for name in _repos(fronted):
        expected = hg.nodes(hg.open_repo(fronted.repos_dir / name))
        got = hg.nodes(hg.clone(target, name, tmp_path / name, auth=False))
        assert got == expected, f"{name}: {len(got)} changesets through the front, {len(expected)} on the server"


def test_push_needs_the_right_credentials_at_the_front(fronted, tmp_path):
    repo, url, ca = _repos(fronted)[0], fronted.url, fronted.ca_file
    tls = ["--config", f"web.cacerts={ca}"]
    clone = tmp_path / "clone"
    _hg("clone", *tls, url + repo, str(clone))
    (clone / "through-front.txt").write_text("pushed through nginx\n")
    _hg("add", "through-front.txt", cwd=clone)
    _hg("commit", "-m", "push through the front", cwd=clone)

    def auth(user, pw):
        return ["--config", f"auth.t.prefix={url}", "--config", f"auth.t.username={user}",
                "--config", f"auth.t.password={pw}"]

    before = len(_log_lines(fronted.server.access_log, r'"POST '))
    anon = _hg("push", *tls, url + repo, cwd=clone, check=False)
    assert anon.returncode != 0 and "authorization" in anon.stderr.lower(), anon.stderr
    wrong = _hg("push", *tls, *auth("hgharness", "not-the-password"), url + repo, cwd=clone, check=False)
    assert wrong.returncode != 0, wrong.stdout
    # both refused by nginx itself (its realm; gunicorn never saw a POST)
    assert len(_log_lines(fronted.server.access_log, r'"POST ')) == before
    r = session(_target(fronted)).post(url + repo + "?cmd=unbundle")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="hgharness push"'
    assert _log_lines(fronted.front.error_log, r'user "hgharness": password mismatch')

    ok = _hg("push", *tls, *auth("hgharness", PASSWORD), url + repo, cwd=clone, check=False)
    assert ok.returncode == 0, ok.stderr
    node = _hg("log", "-r", "tip", "-T", "{node}", cwd=clone).stdout
    fresh = hg.clone(_target(fronted), repo, tmp_path / "fresh", auth=False)
    assert node in hg.nodes(fresh)
    for out in (anon, wrong, ok):
        assert PASSWORD not in out.stdout + out.stderr
    assert PASSWORD not in fronted.front.access_log.read_text() + fronted.front.error_log.read_text()


def test_push_traffic_through_nginx_loses_nothing(fronted, tmp_path):
    from hgharness.fixtures.traffic import TrafficConfig, run_traffic

    repo = _repos(fronted)[0]
    target = _target(fronted)
    at_nginx, at_hgweb = r"cmd=unbundle 200", r'"POST /hg/[^ ]*cmd=unbundle[^"]*" 200'
    before = (len(_log_lines(fronted.front.access_log, at_nginx)), len(_log_lines(fronted.server.access_log, at_hgweb)))
    result = run_traffic(target, TrafficConfig(repos=[repo], pushers=3, pullers=1, ops=18), run_dir=tmp_path,
                         server_repos_dir=fronted.repos_dir, progress=lambda m: None)
    assert result["pushed"] > 0 and result["lost"] == 0 and result["verified"] == result["pushed"], result
    assert result["failures"] == 0 and not result["problems"], result["problems"]
    assert result["server_verify"]["status"] == "clean"
    # every push nginx accepted reached hgweb: as many unbundles answered 200 on both sides
    through = len(_log_lines(fronted.front.access_log, at_nginx)) - before[0]
    assert through > 0 and through == len(_log_lines(fronted.server.access_log, at_hgweb)) - before[1]
    assert PASSWORD not in (tmp_path / "traffic.json").read_text()


# --- trust: the untrusted CA, --ca-bundle, --insecure ------------------------------------------------------------

def test_without_the_ca_the_run_stops_with_one_line(fronted):
    p = run_cli("run", "--target", fronted.url, "--stages", "headless")
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in p.stdout + p.stderr, err
    assert "certificate not trusted" in err and "--ca-bundle" in err and fronted.url in err, err


def test_mercurial_client_without_the_ca_gives_the_same_line(fronted, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(HarnessError) as e:
        hg.clone(_target(fronted, ca_bundle=None), _repos(fronted)[0], tmp_path / "c", auth=False)
    assert "certificate not trusted" in str(e.value) and "--ca-bundle" in str(e.value)
    assert "Mercurial" in str(e.value)


def test_a_ca_that_did_not_sign_the_certificate_is_refused(fronted, tmp_path):
    from hgharness.tlsca import CA

    other = CA(tmp_path / "other").cert_file
    p = run_cli("run", "--target", fronted.url, "--ca-bundle", other, "--stages", "headless")
    assert p.returncode == 2 and "certificate not trusted" in p.stderr, p.stderr


def test_with_the_ca_bundle_or_insecure_the_checks_pass(fronted, tmp_path):
    env = clean_env(HGHARNESS_PASSWORD=PASSWORD, HGHARNESS_USERNAME="hgharness")
    smoke = ["--stages", "headless", "-m", "smoke and nondestructive", "--runs-dir", tmp_path / "runs"]
    good = run_cli("run", "--target", fronted.url, "--ca-bundle", fronted.ca_file, "--run-id", "ca", *smoke, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "WARNING" not in good.stderr

    p = run_cli("run", "--target", fronted.url, "--insecure", "--run-id", "insecure", *smoke, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"WARNING: TLS certificate verification is disabled \(--insecure\)", p.stderr), p.stderr
    summary = json.loads((tmp_path / "runs" / "insecure" / "summary.json").read_text())
    assert summary["target"]["insecure"] is True and summary["target"]["tls"] is True
    assert any("--insecure" in w for w in summary["warnings"]), summary["warnings"]
    assert not any("--insecure" in w for w in json.loads(
        (tmp_path / "runs" / "ca" / "summary.json").read_text())["warnings"])


def test_a_proxy_in_the_environment_does_not_capture_loopback(fronted, tmp_path, monkeypatch):
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there: a proxied request would fail
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = _target(fronted)
    assert session(target).get(target.url, timeout=10).status_code == 200
    assert hg.nodes(hg.clone(target, _repos(fronted)[0], tmp_path / "c", auth=False))


# --- start, stop, failure -----------------------------------------------------------------------------------------

def test_serve_cli_front_starts_prints_the_ca_and_stops_cleanly(tmp_path):
    out = tmp_path / "serve.out"
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", "--front", "nginx", "--tls", "--prefix",
                                 "/hg", "--workdir", str(tmp_path / "w")], cwd=ROOT, env=clean_env(),
                                stdout=f, stderr=subprocess.STDOUT, text=True)
    try:
        url = wait_until(lambda: (m := re.search(r"URL=(\S+)", out.read_text())) and m.group(1), timeout=120,
                         what="hgharness serve to print its URL")
        text = out.read_text()
        ca = re.search(r"CA certificate (\S+);", text).group(1)
        assert url.startswith("https://127.0.0.1:") and url.endswith("/hg/") and "nginx+tls prefix=/hg" in text
        assert requests.get(url, verify=ca, timeout=10).status_code == 200
        pids = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        names = {psutil.Process(p).name() for p in pids}
        assert any("nginx" in n for n in names) and any("gunicorn" in n or "python" in n for n in names), names
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    assert code == 0, out.read_text()
    wait_until(lambda: not [p for p in pids if _running(p)], timeout=30, what="nginx and gunicorn to exit")
    error_log = (tmp_path / "w" / "front" / "nginx-error.log").read_text()
    assert not re.search(r"\[(emerg|alert|crit)\]", error_log), error_log
    assert "exit" in error_log  # nginx logged its own orderly shutdown


def test_front_with_a_dead_upstream_fails_to_start_and_says_why(tmp_path):
    from hgharness.embedded import free_port

    front = NginxFront(f"http://127.0.0.1:{free_port()}/", tmp_path, prefix="/hg")
    with pytest.raises(HarnessError, match="nginx front did not start"):
        front.start(timeout=3)
    assert not front.proc.alive()
    assert any("upstream" in p for p in front.problems()), front.problems()  # the log check sees the breakage


def test_bad_front_options_exit_2_with_one_line():
    for args, words in ((["serve", "--tls"], "--front nginx"),
                        (["run", "--target", "https://127.0.0.1:9/", "--front", "nginx"], "embedded target"),
                        (["serve", "--front", "nginx", "--prefix", "/a b"], "bad path prefix")):
        p = run_cli(*args, timeout=60)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
        assert words in p.stderr, p.stderr


@pytest.mark.heavy(140)
def test_full_main_job_passes_through_nginx_tls_and_prefix(tmp_path):
    """The whole main job (checks, browser flows, push traffic, load, capacity) through nginx + TLS + a path
    prefix. On the tiny fixture set: the front is what is tested here, and the standard set's main job runs in
    scripts/install-check.sh (on the standard set this test took 279 s of one CI worker); with the short load and
    traffic steps a CI job may choose (the durations are not what the front changes)."""
    from hgharness.cli import LAYERS

    secret = "front-secret-%d" % os.getpid()
    p = run_cli("run", "--front", "nginx", "--tls", "--prefix", "/hg", "--set", "tiny", "--runs-dir", tmp_path / "runs",
                "--run-id", "front", env=clean_env(HGHARNESS_PASSWORD=secret, HGHARNESS_LOAD_DURATION="10",
                                                   HGHARNESS_TRAFFIC_DURATION="8"), timeout=1200)
    run_dir = tmp_path / "runs" / "front"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    t = summary["target"]
    assert t["front"] == "nginx+tls prefix=/hg" and t["tls"] and t["url"].endswith("/hg/") and not t["insecure"]
    assert t["ca_bundle"] and summary["verdict"] == "passed"
    ran = {s["name"]: s for s in summary["stages"]}
    assert set(LAYERS.stages) <= set(ran), ran.keys()
    for name in set(LAYERS.stages) - {"fleet"}:  # every stage runs by default
        assert ran[name]["status"] == "passed", (name, ran[name].get("detail"))
    assert ran["fleet"]["status"] == "skipped" and "no backends" in ran["fleet"]["detail"]  # one node, no fleet
    assert summary["traffic"]["lost"] == 0 and summary["traffic"]["verified"] == summary["traffic"]["pushed"] > 0
    assert (run_dir / "server" / "nginx-access.log").is_file() and (run_dir / "server" / "nginx-error.log").is_file()
    assert "WARNING" not in p.stderr
    assert secret not in p.stdout + p.stderr
    leaks = [str(f) for f in run_dir.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]
    assert not leaks, leaks
