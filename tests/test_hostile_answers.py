"""Issue 16 items 2 and 3: a site that trickles its answers (one byte a second) or sends huge ones (2 GiB) must
leave the headless, load and traffic stages bounded in time and memory, ending as a target failure with the
reason named.

Each case runs the command under a small wrapper that reports the peak RSS of the largest process in the
harness's tree (getrusage(RUSAGE_CHILDREN) of the wrapper: the harness and every process it waited for). The
bound on time is the subprocess timeout: a hang fails the test; the time taken is printed, never asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from tests.ab_builds import one_class_mix
from tests.conftest import ROOT, clean_env, copy_repos, hgweb

pytestmark = pytest.mark.integration

DEADLINE_S = 3        # --request-deadline for these runs
MAX_MB = 16           # --max-response-mb for these runs
RSS_BOUND_MIB = 400   # the memory bound claimed: no process of the harness above it, against a 2 GiB answer
TIME_BOUND_S = 240    # the subprocess timeout: far above what a bounded run takes, far below "hangs"

MEASURE = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print(f"peak-rss-kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(r.returncode)
"""

COMMANDS = {
    "check": ("check", "--markers", "smoke"),  # the clone and the routes: the wire protocol and every page kind
    "load": ("load", "--duration", "10", "--users", "4", "--spawn-rate", "4", "--mix", "logs"),
    "traffic": ("traffic", "--ops", "4", "--cloners", "1", "--pullers", "1", "--pushers", "1"),
}


# readers asking back to back for the hostile page kind and a healthy one: every user meets it in a short run
LOGS_MIX = one_class_mix("logs", "AnonymousBrowser", {"log": 1, "summary": 1})


def run_measured(args, env) -> tuple[subprocess.CompletedProcess, float, float]:
    started = time.monotonic()
    p = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "hgharness", *map(str, args)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIME_BOUND_S,
                       stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    rss = int(re.search(r"peak-rss-kib (\d+)", p.stderr).group(1)) / 1024
    return p, took, rss


@pytest.mark.parametrize("build", ["trickle", "huge_answers"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_hostile_answer_ends_the_stage_bounded(build, command, seed_repos, tmp_path):
    repos = copy_repos(seed_repos, tmp_path / "repos")
    extra = []
    if command == "load":
        (tmp_path / "mixes.toml").write_text(LOGS_MIX)
        extra = ["--mixes", tmp_path / "mixes.toml"]
    with hgweb(repos, wrap=f"tests.hostile_builds:{build}", check_tracebacks=False) as server:
        p, took, rss = run_measured(
            [*COMMANDS[command], *extra, "--target", server.url, "--request-deadline", DEADLINE_S,
             "--max-response-mb", MAX_MB, "--runs-dir", tmp_path / "runs"],
            clean_env(HGHARNESS_FIXTURE_DIR=server.repos_dir, HGHARNESS_USERNAME=server.username,
                      HGHARNESS_PASSWORD=server.password, HGHARNESS_REPOS="small"))
    out = p.stdout + p.stderr
    print(f"{build} {command}: exit {p.returncode} in {took:.1f} s, peak RSS {rss:.0f} MiB")
    assert "Traceback" not in out, out[-3000:]
    assert p.returncode == 1, (p.returncode, out[-3000:])
    assert rss < RSS_BOUND_MIB, f"peak RSS {rss:.0f} MiB"
    why = f"within {DEADLINE_S} s" if build == "trickle" else f"{MAX_MB} MiB bound"
    assert why in out, out[-3000:]
