"""Mercurial over SSH (issue 21): the embedded hgweb's own sshd (OpenSSH, run by the harness with run-local
config, host key and keys, a forced command over the fixture repositories), the traffic over it with the proof
that no push is lost, the `ssh` stage's checks, and each bad input as one line with exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psutil
import pytest

from tests.conftest import clean_env, copy_repos, hgweb, run_cli, slo_without_ssh_latency_gates
from tests.ssh_builds import command

pytestmark = [pytest.mark.traffic, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("ssh") is None, reason="openssh-client is not installed")]


def _sshd_processes(workdir: Path) -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if str(workdir) in " ".join(p.info["cmdline"] or [])]


@pytest.fixture
def ssh_site(seed_repos, tmp_path):
    """An embedded hgweb and its sshd over a private copy of the fixture set."""
    from hgharness.sshd import EmbeddedSshd, ssh_available

    problem = ssh_available()
    if problem:
        pytest.skip(problem)
    repos = copy_repos(seed_repos, tmp_path / "repos")
    with hgweb(repos) as server, EmbeddedSshd(repos, workdir=tmp_path / "sshd") as sshd:
        yield server, sshd


def _ssh_args(server, sshd, key: str = "push", **override) -> list[str]:
    opts = {**sshd.target_options(key), **override}
    return ["--target", server.url, "--username", server.username, "--ssh-url", opts["ssh_url"],
            "--ssh-key", opts["ssh_key"], "--ssh-known-hosts", opts["ssh_known_hosts"]]


def _env(server):
    return clean_env(HGHARNESS_PASSWORD=server.password.reveal())


def _traffic(tmp_path, *args, env=None, timeout=300):
    return run_cli("traffic", "--transport", "ssh", "--repo", "project", "--runs-dir", tmp_path / "runs", *args,
                   env=env, timeout=timeout)


def _one_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


# The two 30 s SSH traffic tests run one after the other (one xdist worker): side by side, 18 actors on 2 cores
# pushed Kallithea's pulls (a Python process of ssh-serve per connection) past the 8 s p50 gate
@pytest.mark.heavy(90)
@pytest.mark.xdist_group("ssh-traffic")
def test_traffic_over_ssh_from_the_embedded_hgweb_loses_nothing(tmp_path):
    """`traffic --transport ssh` on the embedded target: its own sshd, 4 pushers and 4 pullers for 30 s, lost 0,
    `hg verify` clean on the server; the sshd and its files are gone afterwards."""
    private_tmp = tmp_path / "tmp"  # this run's temporary files, apart from other tests' running beside it
    private_tmp.mkdir()
    r = run_cli("traffic", "--transport", "ssh", "--pushers", 4, "--pullers", 4, "--cloners", 1, "--duration", 30,
                "--runs-dir", tmp_path / "runs", env=clean_env(TMPDIR=private_tmp), timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "embedded sshd at ssh://" in r.stdout
    run_dir = next((tmp_path / "runs").iterdir())
    result = json.loads((run_dir / "traffic.json").read_text())
    assert result["lost"] == 0 and result["pushed"] > 0 and result["verified"] == result["pushed"], result
    assert result["server_verify"]["status"] == "clean"
    assert {"ssh.clone", "ssh.pull", "ssh.push"} <= set(result["actions"]), result["actions"]
    assert result["config"]["transport"] == "ssh"
    assert not _sshd_processes(private_tmp), "an sshd (or one of its sessions) was left running"
    assert not list(private_tmp.iterdir()), list(private_tmp.iterdir())


def test_a_build_that_drops_pushes_over_ssh_is_caught(ssh_site, tmp_path):
    """The server answers every push over SSH as accepted, and keeps none: lost, exit 1."""
    from hgharness.sshd import EmbeddedSshd

    server, _ = ssh_site
    with EmbeddedSshd(server.repos_dir, workdir=tmp_path / "dropping",
                      forced_command=command("scratch_copy")) as dropping:
        r = _traffic(tmp_path, *_ssh_args(server, dropping), "--pushers", 2, "--pullers", 0, "--cloners", 0,
                     "--ops", 4, env=_env(server))
    assert r.returncode == 1, r.stdout + r.stderr
    result = json.loads(next((tmp_path / "runs").iterdir()).joinpath("traffic.json").read_text())
    assert result["lost"] > 0 and result["lost"] == result["pushed"], r.stdout
    assert "LOST" in r.stdout


def test_the_ssh_checks_pass_on_a_healthy_site_and_fail_a_read_only_key_that_pushes(ssh_site, tmp_path):
    """The `ssh` stage's checks: all pass on the healthy sshd; on a build whose read-only key may push,
    read-only-refused fails (and only it)."""
    from hgharness.fixtures.traffic_ssh import ssh_checks
    from hgharness.sshd import EmbeddedSshd
    from hgharness.target import Target

    server, sshd = ssh_site

    def target(s):
        return Target(server.url, username=server.username, password=server.password, allow_load=True,
                      **s.target_options())

    checks = {name: (ok, msg) for name, ok, msg in ssh_checks(target(sshd), "project", sshd, server.repos_dir)}
    assert set(checks) == {"capabilities", "clone-matches", "read-only-refused", "unknown-repository"}
    assert all(ok for ok, _ in checks.values()), checks
    # a build whose read-only key is not read-only
    with EmbeddedSshd(server.repos_dir, workdir=tmp_path / "open", forced_command=command("ignores_read_only")) \
            as leaky:
        checks = {name: (ok, msg) for name, ok, msg in ssh_checks(target(leaky), "project", leaky, server.repos_dir)}
    assert checks["read-only-refused"][0] is False, checks
    assert checks["capabilities"][0] and checks["unknown-repository"][0], checks


def test_an_unknown_host_key_is_one_line_and_never_accepted(ssh_site, tmp_path):
    server, sshd = ssh_site
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    r = _traffic(tmp_path, *_ssh_args(server, sshd, ssh_known_hosts=str(empty)), "--ops", 2, env=_env(server))
    line = _one_line(r)
    assert "host key" in line and "never accepted blindly" in line and str(empty) in line, line
    assert empty.read_text() == ""  # nothing was added to it


def test_a_refused_key_is_one_line(ssh_site, tmp_path):
    from hgharness.sshd import keygen

    server, sshd = ssh_site
    stranger = keygen(tmp_path / "stranger", "not in authorized_keys")
    r = _traffic(tmp_path, *_ssh_args(server, sshd, ssh_key=str(stranger)), "--ops", 2, env=_env(server))
    line = _one_line(r)
    assert "refused ssh_key" in line and str(stranger) in line, line


def test_a_read_only_key_pushing_is_one_line(ssh_site, tmp_path):
    server, sshd = ssh_site
    r = _traffic(tmp_path, *_ssh_args(server, sshd, key="read"), "--pushers", 1, "--pullers", 0, "--cloners", 0,
                 "--ops", 2, env=_env(server))
    line = _one_line(r)
    assert "may not push" in line and "read" in line, line
    # the same key may read: clones and pulls only pass
    r = _traffic(tmp_path, *_ssh_args(server, sshd, key="read"), "--pushers", 0, "--pullers", 1, "--cloners", 1,
                 "--ops", 3, env=_env(server))
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_unknown_repository_over_ssh_names_no_server_path(ssh_site, tmp_path):
    server, sshd = ssh_site
    r = run_cli("traffic", "--transport", "ssh", "--repo", "no-such-repo", "--ops", 1, "--runs-dir",
                tmp_path / "runs", *_ssh_args(server, sshd), env=_env(server))
    line = _one_line(r)
    assert "no-such-repo" in line and "not found" in line, line
    assert str(server.repos_dir) not in r.stdout + r.stderr and str(sshd.workdir) not in r.stdout + r.stderr


@pytest.mark.parametrize("args, says", [
    (["--ssh-url", "ftp://127.0.0.1:22/"], "ssh_url: bad SSH URL"),
    (["--ssh-url", "ssh://127.0.0.1:22/", "--ssh-key", "/nonexistent/key"], "ssh_key: file /nonexistent/key not found"),
    ([], "the target has no SSH URL"),
])
def test_ssh_settings_missing_or_malformed_are_one_line_before_any_connection(args, says, tmp_path):
    """Refused before anything is sent: the HTTP target is a loopback port nobody listens on."""
    from hgharness.server import free_port

    r = run_cli("traffic", "--transport", "ssh", "--target", f"http://127.0.0.1:{free_port()}/", "--repo", "x",
                "--ops", 1, "--runs-dir", tmp_path / "runs", *args)
    line = _one_line(r)
    assert says in line, line


DEV_MIX = """[pace]
Developer = 0.5
[mixes.dev-ssh]
users = { Developer = 1 }
transport = "ssh"
[mixes.dev-ssh.actions.Developer]
pull = 2
push = 3
clone = 1
"""


def _rows(stdout: str) -> dict[str, tuple[int, int]]:
    """The load summary's table: action -> (requests, failed)."""
    rows = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) >= 3 and words[1].isdigit() and words[2].isdigit():
            rows[words[0]] = (int(words[1]), int(words[2]))
    return rows


@pytest.mark.heavy(40)
def test_locust_developers_over_ssh_on_the_embedded_hgweb(tmp_path):
    """A mix with transport = "ssh": Locust's Developer users clone, pull and push over the embedded hgweb's own
    sshd (each operation an `hg` child: Mercurial's SSH peer hangs in process under gevent). The rows are the
    traffic stage's names (ssh.clone, ssh.pull, ssh.push), none failed, and the sshd and its files are gone."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    mixes = tmp_path / "mixes.toml"
    mixes.write_text(DEV_MIX)
    r = run_cli("load", "--mixes", mixes, "--mix", "dev-ssh", "--users", 3, "--spawn-rate", 3, "--duration", 20,
                "--runs-dir", tmp_path / "runs", env=clean_env(TMPDIR=private_tmp), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "embedded sshd at ssh://" in r.stdout
    rows = _rows(r.stdout)
    assert {"ssh.clone", "ssh.pull", "ssh.push"} <= set(rows), r.stdout
    assert rows["ssh.push"][0] > 0 and not any(failed for _, failed in rows.values()), rows
    assert not _sshd_processes(private_tmp), "an sshd (or one of its sessions) was left running"
    assert not list(private_tmp.iterdir()), list(private_tmp.iterdir())


@pytest.mark.heavy(30)
def test_locust_developers_pushing_with_a_read_only_key_fail_the_run(ssh_site, tmp_path):
    """The same users against a site's SSH settings (--ssh-url, --ssh-key) whose key may only read: every push is
    refused, the run fails (exit 1) and the failures say why; pulls and clones with that key pass."""
    server, sshd = ssh_site
    mixes = tmp_path / "mixes.toml"
    mixes.write_text(DEV_MIX)
    r = run_cli("load", *_ssh_args(server, sshd, key="read"), "--mixes", mixes, "--mix", "dev-ssh", "--users", 2,
                "--spawn-rate", 2, "--duration", 15, "--runs-dir", tmp_path / "runs", env=_env(server), timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    rows = _rows(r.stdout)
    assert rows["ssh.push"][0] > 0 and rows["ssh.push"][1] == rows["ssh.push"][0], rows
    # every user clones first (the key may read); a pull is a draw of the mix, which a short run may not make
    assert rows["ssh.clone"][0] > 0 and rows["ssh.clone"][1] == 0 and rows.get("ssh.pull", (0, 0))[1] == 0, rows
    assert "forbidden" in r.stdout, r.stdout


def test_a_mix_over_ssh_with_a_baseline_is_one_line_before_any_server_starts(tmp_path):
    mixes = tmp_path / "mixes.toml"
    mixes.write_text(DEV_MIX)
    r = run_cli("load", "--mixes", mixes, "--mix", "dev-ssh", "--baseline", "embedded", "--duration", 5,
                "--runs-dir", tmp_path / "runs", env=clean_env())
    assert _one_line(r) == "hgharness load: mix 'dev-ssh' speaks SSH, which is not compared against a --baseline in " \
        "this build", r.stderr
    assert "starting" not in r.stdout and not (tmp_path / "runs").exists(), r.stdout


def test_a_mix_with_an_unknown_transport_is_one_line(tmp_path):
    from hgharness.errors import HarnessError
    from hgharness.load.mixes import get_mix

    path = tmp_path / "mixes.toml"
    path.write_text('[mixes.dev]\nusers = { Developer = 1 }\npace = { Developer = 0.5 }\ntransport = "ftp"\n')
    with pytest.raises(HarnessError, match=r"mix 'dev': transport must be \"http\" or \"ssh\", not 'ftp'"):
        get_mix("dev", path, check_available=False)


@pytest.mark.kallithea
@pytest.mark.heavy(120)
@pytest.mark.xdist_group("ssh-traffic")
def test_traffic_over_ssh_from_the_embedded_kallithea_loses_nothing(tmp_path):
    """Kallithea's own SSH: keys added through My Account, written by Kallithea into its authorized_keys with
    `kallithea-cli ssh-serve` as the forced command, served by the harness's sshd; 4 pushers and 4 pullers for
    30 s, lost 0, hg verify clean; the read-only user's key is refused push in one line."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    r = run_cli("traffic", "--site", "kallithea", "--set", "tiny", "--transport", "ssh", "--pushers", 4, "--pullers",
                4, "--cloners", 1, "--duration", 30, "--runs-dir", tmp_path / "runs",
                "--slo", slo_without_ssh_latency_gates(tmp_path), env=clean_env(TMPDIR=private_tmp), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "managed by Kallithea" in r.stdout
    result = json.loads(next((tmp_path / "runs").iterdir()).joinpath("traffic.json").read_text())
    assert result["lost"] == 0 and result["pushed"] > 0 and result["verified"] == result["pushed"], result
    assert result["server_verify"]["status"] == "clean"
    assert {"ssh.clone", "ssh.pull", "ssh.push"} <= set(result["actions"]), result["actions"]
    assert not _sshd_processes(private_tmp), "an sshd (or one of its sessions) was left running"
