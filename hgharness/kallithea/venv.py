"""Kallithea's own virtualenv: Python 3.8 (or 3.9 with setuptools<58), pinned by hgharness/kallithea/constraints-py38.txt,
front-end built, cached outside the work tree so a fresh clone (or a CI job with a cache) reuses it.

Cache: $HGHARNESS_CACHE (default ~/.cache/hgharness) / kallithea-<hash of the constraints and this recipe>/.
A build goes into a temporary sibling directory that is renamed into place only when complete, so an
interrupted build is never taken for a cached one; a lock file keeps two builders from racing.
Kallithea 0.7.0 does not install on Python >= 3.10 (its pins need 2to3-era setuptools), hence the search.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from hgharness.errors import HarnessError

KALLITHEA_VERSION = "0.7.0"
CONSTRAINTS = Path(__file__).with_name("constraints-py38.txt")
RECIPE = "1"  # bump when the build steps change, so old caches are not reused
SUPPORTED = ((3, 8), (3, 9))
MARKER = "hgharness-venv.json"

# Run a console-script entry point through the venv's python: the scripts' #! lines name the temporary
# build directory, which is renamed afterwards.
CLI = "import sys; from kallithea.bin.kallithea_cli import cli; sys.argv[0] = 'kallithea-cli'; cli()"
GEARBOX = "import sys; from gearbox.main import main; sys.argv[0] = 'gearbox'; sys.exit(main())"


def cache_root(env=None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("HGHARNESS_CACHE") or Path.home() / ".cache" / "hgharness").expanduser()


def cache_key() -> str:
    try:
        pins = CONSTRAINTS.read_bytes()
    except OSError:
        raise HarnessError(f"Kallithea constraints file {CONSTRAINTS} is missing") from None
    h = hashlib.sha256(pins + f"\nkallithea=={KALLITHEA_VERSION}\nrecipe={RECIPE}\n".encode())
    return h.hexdigest()[:16]


def venv_dir(env=None) -> Path:
    return cache_root(env) / f"kallithea-{cache_key()}"


def python_version(exe: str) -> tuple[int, int] | None:
    """(major, minor) of a Python executable, or None when it does not run (a pyenv shim without a version)."""
    try:
        out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                             capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        major, minor = map(int, out.stdout.split())
    except ValueError:
        return None
    return (major, minor) if out.returncode == 0 else None


def candidates(env=None) -> list[str]:
    """Python executables worth trying, best first: explicit, pyenv versions, then PATH."""
    env = os.environ if env is None else env
    found = []
    if env.get("HGHARNESS_KALLITHEA_PYTHON"):
        found.append(env["HGHARNESS_KALLITHEA_PYTHON"])
    pyenv_root = env.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for minor in ("3.8", "3.9"):
        for d in sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{minor}.*")), reverse=True):
            found.append(os.path.join(d, "bin", "python"))
    path = env.get("PATH", "")
    for name in ("python3.8", "python3.9"):
        exe = shutil.which(name, path=path)
        if exe:
            found.append(exe)
    return found


def find_python(env=None) -> tuple[str, tuple[int, int]]:
    for exe in candidates(env):
        if os.path.exists(exe):
            version = python_version(exe)
            if version in SUPPORTED:
                return exe, version
    raise HarnessError("Kallithea 0.7.0 needs Python 3.8 (or 3.9) and none was found: install one "
                       "(e.g. `pyenv install 3.8.18`) or set HGHARNESS_KALLITHEA_PYTHON to its executable")


def is_ready(venv: Path) -> bool:
    """A complete venv: its marker is written last, and its interpreter still runs (pyenv versions vanish)."""
    return (venv / MARKER).is_file() and (venv / "bin" / "python").exists()


def ensure_venv(progress=print, env=None) -> Path:
    """The cached Kallithea venv, built first if needed. Returns its directory."""
    venv = venv_dir(env)
    if is_ready(venv):
        return venv
    root = venv.parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same venv: wait for it
        if is_ready(venv):
            return venv
        if venv.exists():  # a cache whose interpreter vanished: rebuild it
            shutil.rmtree(venv, ignore_errors=True)
        for stale in root.glob(f"{venv.name}.building-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        _build(venv, progress, env)
    return venv


def _build(venv: Path, progress, env) -> None:
    exe, version = find_python(env)
    if not shutil.which("npm"):
        raise HarnessError("the Kallithea front-end build needs npm (Node.js) on PATH; install it and retry")
    tmp = venv.parent / f"{venv.name}.building-{os.getpid()}"
    log = venv.parent / f"{venv.name}.build.log"
    started = time.monotonic()
    progress(f"building the Kallithea {KALLITHEA_VERSION} venv with Python {version[0]}.{version[1]} "
             f"(first run only; cached in {venv}) ...")
    try:
        with open(log, "w") as out:
            def step(what, argv, cwd=None):
                out.write(f"$ {' '.join(argv)}\n")
                out.flush()
                r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, stdin=subprocess.DEVNULL,
                                   env=_build_env(), timeout=1800)
                if r.returncode != 0:
                    raise HarnessError(f"Kallithea venv build failed at {what} (exit {r.returncode}); see {log}")

            py = str(tmp / "bin" / "python")
            step("venv", [exe, "-m", "venv", str(tmp)])
            if version >= (3, 9):  # 3.8's bundled setuptools is old enough; 3.9's is not
                step("setuptools", [py, "-m", "pip", "install", "-q", "setuptools<58"])
            step("pip install", [py, "-m", "pip", "install", "-q", f"kallithea=={KALLITHEA_VERSION}",
                                 "-c", str(CONSTRAINTS)])
            progress("building the Kallithea front-end (npm) ...")
            step("front-end-build", [py, "-c", CLI, "front-end-build"], cwd=str(tmp))
            # node_modules is only needed to build; the built CSS/JS live in kallithea/public (66 MB saved)
            for nm in tmp.glob("lib/python*/site-packages/kallithea/front-end/node_modules"):
                shutil.rmtree(nm, ignore_errors=True)
        build_s = round(time.monotonic() - started, 1)
        (tmp / MARKER).write_text(json.dumps({"kallithea": KALLITHEA_VERSION, "python": exe,
                                              "python_version": ".".join(map(str, version)),
                                              "constraints": str(CONSTRAINTS), "build_s": build_s}))
        os.rename(tmp, venv)
        progress(f"Kallithea venv ready in {build_s:.0f}s")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _build_env() -> dict:
    # the harness's own venv must not leak into the build (pip would install into the wrong place)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
