"""Time from `hgharness serve --site kallithea` to a ready server: cold (empty cache) and cached, in one run.

"Ready" is the moment the command prints URL= (Kallithea answered its index, the push user exists, the fixture
set is pushed) confirmed by an HTTP 200. Cold uses a fresh HGHARNESS_CACHE, so the venv is built (pip install,
npm front-end build); --no-pip-cache also makes pip download every package again, as on a fresh CI runner without
a pip cache. Cached uses the normal cache (built first if missing, not timed). Each server is stopped with SIGINT.

    .venv/bin/python bench/bench_kallithea_serve.py [--rounds 2] [--no-pip-cache] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hgharness.procs import wait_until  # noqa: E402


def _ctrl_c_works():
    """A shell's background job ignores SIGINT, and so would its children: give the server back Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def serve_once(env: dict, workdir: Path) -> float:
    out = workdir / "serve.out"
    started = time.monotonic()
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", "--site", "kallithea", "--workdir",
                                 str(workdir / "w")], cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                preexec_fn=_ctrl_c_works)
    try:
        url = wait_until(lambda: (m := re.search(r"URL=(\S+)", out.read_text())) and m.group(1)
                         or (proc.poll() is not None and "exited"), timeout=1800, what="serve to print its URL")
        if url == "exited":
            raise SystemExit(f"serve failed:\n{out.read_text()}")
        assert requests.get(url, timeout=30).status_code == 200
        return time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2, help="cached starts to time (default 2)")
    ap.add_argument("--no-pip-cache", action="store_true", help="cold build without pip's download cache")
    ap.add_argument("--skip-cold", action="store_true")
    a = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
    from hgharness.kallithea.venv import ensure_venv

    with tempfile.TemporaryDirectory(prefix="bench-kallithea-") as tmp:
        tmp = Path(tmp)
        cold = None
        if not a.skip_cold:
            env = dict(base, HGHARNESS_CACHE=str(tmp / "cold-cache"))
            if a.no_pip_cache:
                env["PIP_NO_CACHE_DIR"] = "1"
            (tmp / "cold").mkdir()
            cold = serve_once(env, tmp / "cold")
            shutil.rmtree(tmp / "cold-cache", ignore_errors=True)
        ensure_venv(progress=lambda m: None)
        cached = []
        for i in range(a.rounds):
            d = tmp / f"cached{i}"
            d.mkdir()
            cached.append(serve_once(dict(base), d))
    med = statistics.median(cached)
    print(f"cached: {med:.1f}s (median of {len(cached)}: {', '.join(f'{c:.1f}' for c in cached)})")
    if cold is not None:
        print(f"cold:   {cold:.1f}s ({'no pip cache' if a.no_pip_cache else 'pip cache allowed'}); "
              f"cold/cached = {cold / med:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
