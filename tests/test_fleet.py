"""A deployed fleet (#20): HAProxy before N embedded hgweb nodes, and the fleet stage of `run`, which asks every
node directly and names one that serves something else (a stale copy of the repositories), fails (a 500 on one
page kind) or is much slower than its peers. Real haproxy, real gunicorn hgweb."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest

from hgharness.errors import HarnessError
from tests.conftest import ROOT, clean_env, hgweb, run_cli

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (scripts/setup.sh installs it)")


def hg(*args, cwd=None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HG")}
    env.update(HGPLAIN="1", HGRCPATH="")
    exe = Path(sys.executable).with_name("hg")  # the venv's Mercurial (the one hgweb runs)
    return subprocess.run([str(exe) if exe.exists() else "hg", *map(str, args)], cwd=cwd, env=env, check=True, capture_output=True, text=True,
                          timeout=120).stdout


# --- units: settings and the comparison -----------------------------------------------------------------------

def test_backends_come_from_the_config_an_option_or_the_environment(tmp_path):
    from hgharness.target import Target

    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.prod]\nurl = "https://hg.example.com/"\n'
                   'backends = ["http://10.0.0.1:8080", "http://10.0.0.2:8080/"]\n')
    t = Target.from_options(target="prod", config=str(cfg), env={})
    assert t.backends == ["http://10.0.0.1:8080/", "http://10.0.0.2:8080/"]
    assert t.describe()["backends"] == t.backends
    assert Target.from_options(env=t.to_env()).backends == t.backends  # to child processes and back
    given = Target.from_options(target="prod", config=str(cfg), env={}, backends=["http://10.0.0.3:1/"])
    assert given.backends == ["http://10.0.0.3:1/"]  # --backend wins over the file
    with pytest.raises(HarnessError, match="backends: bad target URL 'ftp://x/'"):
        Target.from_options(target="https://hg.example.com/", env={"HGHARNESS_BACKENDS": "ftp://x/"})


def test_a_wrongly_typed_backends_or_bad_fleet_option_is_one_line_exit_2(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.prod]\nurl = "http://127.0.0.1:9/"\nbackends = "http://127.0.0.1:10/"\n')
    cases = [(["run", "--target", "prod", "--config", cfg], f'{cfg}: [targets.prod] backends must be a list of '
              'strings, not the string "http://127.0.0.1:10/"'),
             (["run", "--front", "nginx", "--backends", "2"], "add --front haproxy"),
             (["run", "--front", "haproxy", "--backends", "9"], "from 1 to 8, not 9"),
             (["run", "--backend", "http://127.0.0.1:9/"], "--backend lists the nodes of your own site"),
             (["run", "--front", "haproxy", "--tls"], "use --front nginx")]
    for args, words in cases:
        p = run_cli(*args, "--runs-dir", tmp_path / "runs", timeout=60)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
        assert words in p.stderr, (args, p.stderr)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_missing_haproxy_is_one_line_naming_the_package(tmp_path):
    """haproxy neither on PATH nor at its usual paths: one line naming the package, exit 2, before anything is
    built or started."""
    code = ("import sys, hgharness.haproxy as h; h.HAPROXY_CANDIDATES = (); from hgharness.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    env = clean_env(PATH=str(Path(sys.executable).parent), TMPDIR=str(tmp_path))
    p = subprocess.run([sys.executable, "-c", code, "run", "--front", "haproxy", "--set", "tiny", "--runs-dir",
                        tmp_path / "runs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.strip() == ("hgharness run: haproxy is not installed: apt-get install haproxy "
                                "(scripts/setup.sh does it as root)"), p.stderr
    assert sorted(tmp_path.iterdir()) == [], list(tmp_path.iterdir())  # no run directory, no work directory


def test_the_comparison_names_the_odd_node_and_a_much_slower_one():
    from hgharness.suites.fleet import Answer, Sample, differences, slower

    a, b, c = "http://a/", "http://b/", "http://c/"
    tip = Sample("tip:x", "tip", "repository 'x' tip", {a: Answer(200, "f" * 40, "f" * 12, 10),
                                                         b: Answer(200, "f" * 40, "f" * 12, 12),
                                                         c: Answer(200, "e" * 40, "e" * 12, 900)})
    page = Sample("page:x/rev/tip", "page", "/x/rev/tip", {a: Answer(500, "HTTP 500", "HTTP 500", 11),
                                                           b: Answer(200, "bytes 1", "9 bytes", 11),
                                                           c: Answer(200, "bytes 1", "9 bytes", 800)})
    found = differences([tip, page], [a, b, c])
    assert found == {a: ["/x/rev/tip answered 500 (others: 200)"], b: [],
                     c: [f"repository 'x' tip {'e' * 12} (others: {'f' * 12})"]}
    slow, medians = slower([tip, page], [a, b, c])
    assert list(slow) == [c] and slow[c].startswith("much slower: median 850 ms"), slow
    # two nodes that disagree: no majority, both are named
    two = Sample("server", "server", "the Server header", {a: Answer(200, "x/1", "'x/1'"), b: Answer(200, "x/2",
                                                                                                     "'x/2'")})
    assert differences([two], [a, b]) == {a: ["the Server header 'x/1' (others: 'x/2')"],
                                          b: ["the Server header 'x/2' (others: 'x/1')"]}


def test_the_fleet_stage_is_skipped_without_backends(tmp_path):
    from hgharness.session import StageContext
    from hgharness.suites.fleet import stage_fleet
    from hgharness.target import Target

    ctx = StageContext(Target("http://127.0.0.1:9/"), tmp_path, None, lambda m: None)
    result = stage_fleet(ctx)
    assert result.status == "skipped" and "no backends" in result.detail, result


# --- real fleets ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    """Four gunicorn hgweb nodes: two healthy over the repositories, one over a copy missing the last changeset of
    one repository (cloned up to tip's parents, no strip), one answering 500 on changeset pages."""
    from hgharness.fixtures.sets import build_set

    base = tmp_path_factory.mktemp("fleet")
    repos = base / "repos"
    build_set("tiny", base / "tiny")
    build_set("seed", base / "seed")
    shutil.copytree(base / "tiny" / "tiny", repos / "tiny", symlinks=True)
    shutil.copytree(base / "seed" / "demo", repos / "demo", symlinks=True)
    stale = base / "stale"
    shutil.copytree(repos / "demo", stale / "demo", symlinks=True)
    heads = hg("log", "-R", repos / "tiny", "-r", "heads(not tip)", "-T", "{node}\n").split()
    hg("clone", "-q", "-U", *(x for h in heads for x in ("-r", h)), repos / "tiny", stale / "tiny")
    if (repos / "tiny" / ".hg" / "hgrc").exists():  # the repository's own settings, not the clone's paths
        shutil.copy(repos / "tiny" / ".hg" / "hgrc", stale / "tiny" / ".hg" / "hgrc")
    tips = {"tiny": hg("log", "-R", repos / "tiny", "-r", "tip", "-T", "{node}"),
            "stale": hg("log", "-R", stale / "tiny", "-r", "tip", "-T", "{node}")}
    assert tips["tiny"] != tips["stale"]
    with ExitStack() as stack:
        servers = {name: stack.enter_context(hgweb(d, workdir=base / name, password="fleet-secret-pw", **kw))
                   for name, d, kw in (("h1", repos, {}), ("h2", repos, {}), ("stale", stale, {}),
                                       ("bad", repos, {"wrap": "tests.broken_targets:error_500_rev"}))}
        yield {"servers": servers, "tips": tips, "base": base}


def fleet_run(nodes, tmp_path, names: list[str], run_id: str):
    """HAProxy before the named nodes, then `hgharness run --target FRONT --backend URL... --stages fleet`."""
    from hgharness.haproxy import HAProxyFront

    urls = [nodes["servers"][n].url for n in names]
    with HAProxyFront(urls, tmp_path / "front") as front:
        # the fixture the nodes should serve: the smoke checks on each node compare with it
        env = clean_env(HGHARNESS_USERNAME="hgharness", HGHARNESS_PASSWORD="fleet-secret-pw",
                        HGHARNESS_FIXTURE_DIR=nodes["base"] / "repos")
        p = run_cli("run", "--target", front.url, *(x for u in urls for x in ("--backend", u)), "--stages", "fleet",
                    "--runs-dir", tmp_path / "runs", "--run-id", run_id, env=env, timeout=120)
        assert not front.problems(), front.problems()
        pids = front.pids()
    assert pids and not any(psutil.pid_exists(pid) for pid in pids)  # stopped by PID
    summary = json.loads((tmp_path / "runs" / run_id / "summary.json").read_text())
    assert "fleet-secret-pw" not in p.stdout + p.stderr + (tmp_path / "runs" / run_id / "summary.json").read_text()
    return p, summary, urls


@needs_haproxy
def test_a_healthy_fleet_behind_haproxy_passes(nodes, tmp_path):
    from hgharness.reports.schema import validate_summary

    p, summary, urls = fleet_run(nodes, tmp_path, ["h1", "h2"], "healthy")
    assert p.returncode == 0, p.stdout + p.stderr
    fleet = next(s for s in summary["stages"] if s["name"] == "fleet")
    assert fleet["status"] == "passed" and fleet["counts"]["passed"] == 2, fleet
    assert fleet["fleet"]["samples"] >= 10 and [n["url"] for n in fleet["fleet"]["nodes"]] == urls, fleet
    assert summary["target"]["backends"] == urls and validate_summary(summary) == []
    # the smoke subset ran against each node directly, and passed there
    for i in (1, 2):
        junit = (tmp_path / "runs" / "healthy" / "fleet" / f"junit-node{i}.xml").read_text()
        assert 'failures="0"' in junit and 'errors="0"' in junit and "test_index_lists_every_repository" in junit
        assert re.search(r'tests="([1-9]\d*)"', junit), junit[:500]
    # roundrobin with health checks: both nodes served the front's requests
    log = (tmp_path / "front" / "haproxy.log").read_text()
    assert "hgharness_nodes/node1" in log and "hgharness_nodes/node2" in log, log[-2000:]


@needs_haproxy
def test_haproxy_health_checks_take_a_dead_node_out(nodes, tmp_path):
    """A node that stops answering is marked DOWN by its health checks (the log says so, and the front counts it
    as a problem), and the front keeps serving from the live one."""
    import requests

    from hgharness.haproxy import HAProxyFront
    from hgharness.procs import wait_until
    from hgharness.server import free_port

    dead = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    with HAProxyFront([nodes["servers"]["h1"].url, dead], tmp_path / "front") as front:
        assert front.render().count(" check inter ") == 2 and "option httpchk GET /" in front.render()
        wait_until(lambda: any("node2 is DOWN" in p for p in front.problems()), timeout=30, what="node2 DOWN")
        with requests.Session() as s:
            s.trust_env = False
            assert [s.get(front.url, timeout=10).status_code for _ in range(4)] == [200] * 4
        assert not any("node1" in p for p in front.problems()), front.problems()


@needs_haproxy
def test_a_stale_node_is_named_with_the_tip_it_serves(nodes, tmp_path):
    p, summary, urls = fleet_run(nodes, tmp_path, ["h1", "stale", "h2"], "stale")
    assert p.returncode == 1, p.stdout + p.stderr
    stale = urls[1]
    line = (f"backend {stale}: repository 'tiny' tip {nodes['tips']['stale'][:12]} "
            f"(others: {nodes['tips']['tiny'][:12]})")
    assert line in p.stdout, p.stdout
    failed = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("FAILED")]
    assert len(failed) == 1 and stale in failed[0], failed  # the stale node, and it alone
    nodes_out = {n["url"]: n for n in next(s for s in summary["stages"] if s["name"] == "fleet")["fleet"]["nodes"]}
    assert [u for u, n in nodes_out.items() if n["status"] == "failed"] == [stale]
    assert not any("demo" in d for d in nodes_out[stale]["differences"]), nodes_out[stale]  # only tiny differs
    # the smoke checks, run against the stale node directly, see the same: its pages do not show the fixture's tip
    assert any(d.startswith("smoke test_repository_pages_show_tip") and "tiny" in d
               for d in nodes_out[stale]["differences"]), nodes_out[stale]


@needs_haproxy
def test_a_node_answering_500_on_one_page_kind_is_named(nodes, tmp_path):
    p, summary, urls = fleet_run(nodes, tmp_path, ["h1", "h2", "bad"], "bad")
    assert p.returncode == 1, p.stdout + p.stderr
    bad = urls[2]
    assert f"backend {bad}: /demo/rev/tip answered 500 (others: 200)" in p.stdout, p.stdout
    failed = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("FAILED")]
    assert len(failed) == 1 and bad in failed[0], failed
    assert summary["verdict"] == "failed" and summary["exit_code"] == 1


@needs_haproxy
def test_run_starts_an_haproxy_fleet_and_leaves_nothing_behind(tmp_path):
    """`run --front haproxy --backends 2`: two nodes behind HAProxy, the public URL the front's, the fleet stage
    compares the nodes; afterwards no process of the run and nothing in its temp dir."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = run_cli("run", "--front", "haproxy", "--backends", "2", "--set", "tiny", "--stages", "fleet", "--runs-dir",
                tmp_path / "runs", "--run-id", "cli", env=clean_env(TMPDIR=tmp), timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    summary = json.loads((tmp_path / "runs" / "cli" / "summary.json").read_text())
    t = summary["target"]
    assert t["front"] == "haproxy (2 backends)" and len(t["backends"]) == 2 and t["url"] not in t["backends"]
    assert next(s for s in summary["stages"] if s["name"] == "fleet")["counts"]["passed"] == 2
    logs = tmp_path / "runs" / "cli" / "server"
    assert {"haproxy.log", "gunicorn-error-node1.log", "gunicorn-error-node2.log"} <= {f.name for f in logs.iterdir()}
    assert list(tmp.iterdir()) == []
    left = [pr.pid for pr in psutil.process_iter(["cmdline"]) if str(tmp) in " ".join(pr.info["cmdline"] or [])]
    assert left == [], left
