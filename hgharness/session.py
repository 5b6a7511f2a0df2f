"""One run of a command against one target: the pipeline every command shares (run, check, functional, load,
traffic).

    with RunSession(args, "load", layers) as session:   # starts the embedded target, or builds and probes one
        session.open_run_dir()                           # reports/runs/<id>/ and the base of summary.json
        session.add(stage(session.context()))            # one StageResult per stage
        return session.finish()                          # junit.xml, summary.json, index.html, the summary lines

Starting the target (and patching the embedded server's credentials into it), making the run directory,
merging JUnit, writing the summary and building the report are written here once. What the core does not know
(how fixture repositories are built, how the report is drawn, which stages exist) comes in a `Layers` value
that the CLI entry wires from the layers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hgharness.errors import HarnessError, TargetFailure
from hgharness.rundir import VERDICTS, base_summary, merge_junit, new_run_dir, now_iso, overall_exit, write_json
from hgharness.secrets import redact

COUNT_KEYS = ("passed", "failed", "error", "skipped")
SUBSET_COMMANDS = ("run", "traffic", "load")  # commands whose destructive part is left out on a target that forbids it


@dataclass
class StageResult:
    """What a stage reports: its verdict, counts and files, and what it adds to the run's summary."""

    name: str
    status: str                        # passed | failed | error | skipped
    exit_code: int                     # 0 | 1 | 2, as the commands' exit status
    counts: dict = field(default_factory=dict)
    duration_s: float = 0.0
    detail: str = ""
    files: list = field(default_factory=list)  # names inside the run directory
    junit: str | None = None           # this stage's JUnit file, merged into junit.xml
    tests: list = field(default_factory=list)  # summary "tests" records
    actions: dict = field(default_factory=dict)  # latency per action name
    slo: list = field(default_factory=list)      # gate verdicts
    traffic: dict | None = None
    warnings: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)    # stage-specific keys kept in its summary entry (pytest_exit, profile)

    def __post_init__(self):
        self.counts = {k: int(self.counts.get(k, 0)) for k in COUNT_KEYS}

    @classmethod
    def skipped(cls, name: str, detail: str) -> "StageResult":
        return cls(name, "skipped", 0, {"skipped": 1}, detail=detail)

    @classmethod
    def broken(cls, name: str, error: Exception, started: float) -> "StageResult":
        """A stage that could not run (HarnessError: exit 2) or that the target broke (TargetFailure: exit 1)."""
        code = getattr(error, "exit_code", 2)
        status = "failed" if code == 1 else "error"
        return cls(name, status, code, {status: 1}, duration_s=round(time.monotonic() - started, 3),
                   detail=str(error))

    def entry(self) -> dict:
        """This stage's record in summary.json's "stages"."""
        out = {"name": self.name, "status": self.status, "exit_code": self.exit_code, "counts": dict(self.counts),
               "duration_s": round(self.duration_s, 3), "detail": self.detail, "files": list(self.files)}
        if self.junit:
            out["junit"] = self.junit
        out.update(self.extra)
        return out


@dataclass
class Stage:
    """A stage of `hgharness run`: a callable (StageContext) -> StageResult, and one line saying what it does."""

    run: Callable[["StageContext"], StageResult]
    description: str


@dataclass
class Layers:
    """What the core needs from the layers, wired by the CLI entry (hgharness/cli.py)."""

    fixture_repos: Callable  # (args, workdir, progress) -> (repos_dir, names): the repositories an embedded target serves
    build_report: Callable   # (run_dir) -> None: index.html of a run directory
    stages: dict = field(default_factory=dict)  # name -> Stage, in the order `run` runs them
    coverage: Callable | None = None  # (args) -> exit status: `check --coverage` prints the coverage table
    read_gates: Callable | None = None  # (path) -> dict: an SLO gates file, read and checked (HarnessError if not)


@dataclass
class StageContext:
    """What a stage gets: the target, the run directory, the arguments, a progress printer, the embedded server."""

    target: object
    run_dir: Path
    args: argparse.Namespace
    progress: Callable
    server: object = None
    baseline: object = None            # A/B runs (--baseline): the Target the candidate is measured against
    crossover: Callable | None = None  # --baseline embedded: restarts both servers, the baseline first

    @property
    def slo(self) -> str | None:
        """The run's SLO gates file (--slo, HGHARNESS_SLO), None for load/slo.toml; args may be None (tests)."""
        return getattr(self.args, "slo", None)


def is_embedded(args) -> bool:
    return not (getattr(args, "target", None) or os.environ.get("HGHARNESS_TARGET"))


class RunSession:
    """The target, the run directory and the summary of one command's run; stops what it started on exit."""

    baseline = baseline_server = None  # A/B runs: the baseline Target and the server started for it

    def __init__(self, args, command: str, layers: Layers, progress: Callable | None = None,
                 server_overrides: dict | None = None, load_traffic: bool = False):
        self.args, self.command, self.layers = args, command, layers
        self.progress = progress or (lambda msg: print(msg, flush=True))
        self.server_overrides = server_overrides or {}  # e.g. load: --server-workers is the embedded server's count
        self.load_traffic = load_traffic  # load and traffic: refuse a target that does not allow load, first
        self.embedded = is_embedded(args)
        self.server = self.target = self.run_dir = self.summary = None
        self._workdir: Path | None = None
        self._open = False  # a run directory whose summary.json is not written yet
        self._started = time.monotonic()

    # --- the target ---------------------------------------------------------------------------------------

    def __enter__(self) -> "RunSession":
        from hgharness.front import check_front_arguments

        check_front_arguments(self.args, self.embedded)
        if getattr(self.args, "server_wrap", None) and not self.embedded:
            raise HarnessError("--server-wrap wraps the embedded hgweb target; it cannot change the site at --target")
        server_wrap(self.args)  # checked before any fixture is built or server started
        try:
            self.target = self._start_embedded() if self.embedded else self._remote_target()
            if getattr(self.args, "baseline", None):
                self.baseline = self._baseline(self.args.baseline)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and self._open:
                self._record_interruption(exc)
        finally:
            self.close()

    def _record_interruption(self, exc) -> None:
        """The run directory says the run was interrupted, with what had finished by then."""
        from hgharness.procs import interrupt_status

        code = interrupt_status(exc)
        s = self.summary
        s["warnings"].append(f"interrupted by signal {code - 128} before the run finished: the stages listed are "
                             "the ones that had ended")
        s.update(ended=now_iso(), duration_s=round(time.monotonic() - self._started, 3), exit_code=code,
                 verdict="interrupted")
        merge_junit(self.run_dir, [Path(st["junit"]) for st in s["stages"] if st.get("junit")])
        write_json(self.run_dir / "summary.json", s)
        try:
            self.layers.build_report(self.run_dir)
        except Exception:  # the summary is what matters; a half-written stage may not draw
            pass
        self._open = False

    def _remote_target(self):
        from hgharness.http import broken_front_page, probe
        from hgharness.options import target_from_namespace

        target = target_from_namespace(self.args)
        if self.load_traffic:
            target.require_load_allowed()  # before anything is sent to a target that may not take load
        problem = broken_front_page(target, probe(target))
        if problem:  # reachable but failing: the target's verdict (exit 1), not the harness's
            raise TargetFailure(problem)
        return target

    def _start_embedded(self):
        ns = argparse.Namespace(**{**vars(self.args), **self.server_overrides})
        self._workdir = Path(tempfile.mkdtemp(prefix=f"hgharness-{self.command}-"))  # repos, state: removed at exit
        self.server, names, repos_dir = start_embedded(ns, self.layers, self._workdir, self.progress)
        target = self._embedded_target(self.server, names, repos_dir)
        self.progress(f"embedded {target.site_name} target at {target.url} ({len(names)} repositories)")
        return target

    def _embedded_target(self, server, names, repos_dir):
        from hgharness.front import target_options
        from hgharness.options import target_from_namespace

        target = target_from_namespace(self.args, target=server.url, username=server.username,
                                       fixture_dir=str(repos_dir), repos=names,
                                       **target_options(self.args, server))  # CA, --insecure, front
        target.password = server.password
        target.api_key = getattr(server, "api_key", None)  # Kallithea: the admin's key, for the API checks
        target.embedded = True
        return target

    # --- the baseline of an A/B run -----------------------------------------------------------------------

    def _baseline(self, spec: str):
        """The baseline Target of --baseline URL|NAME|embedded|last-passing, checked to serve what the candidate serves."""
        from hgharness.http import broken_front_page, probe, session
        from hgharness.options import target_from_namespace

        if spec == "last-passing":
            from hgharness.runhistory import last_passing_url

            spec = last_passing_url(getattr(self.args, "runs_dir", None) or "reports/runs", self.target)
            self.progress(f"baseline last-passing: {spec}")
        if spec == "embedded":
            baseline = self._start_baseline()
        else:
            baseline = target_from_namespace(self.args, target=spec)
            if self.load_traffic:
                baseline.require_load_allowed()
            problem = broken_front_page(baseline, probe(baseline))
            if problem:  # the baseline is the yardstick: a broken one makes the comparison meaningless
                raise HarnessError(f"the baseline is broken: {problem}")
        from hgharness.baseline import check_same_repos

        names = self.target.repos or self.target.site.list_repos(self.target, session(self.target, auth=True))
        # what both served when the run began: an A/B catalog keeps to it (later writes differ between the two)
        baseline.common_tips = check_same_repos(self.target, baseline, list(names))
        self.progress(f"baseline {baseline.site_name} target at {baseline.url}: same tips in {len(names)} "
                      "repositories; every load task runs on both")
        return baseline

    def _start_baseline(self):
        """--baseline embedded: a second embedded hgweb beside the candidate, serving a copy of its repositories."""
        from hgharness.front import start_hgweb_for_cli

        t = self.target
        if t.site_name != "hgweb" or not t.fixture_dir:
            raise HarnessError("--baseline embedded starts a second embedded hgweb serving the candidate's "
                               "repositories: it needs an embedded hgweb candidate (or a target with fixture_dir)")
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"hgharness-{self.command}-"))
        copy = self._workdir / "baseline-repos"
        shutil.copytree(t.fixture_dir, copy, symlinks=True)  # its own copy: pushes to one never reach the other
        names = t.repos or sorted(p.name for p in copy.iterdir() if (p / ".hg").is_dir())
        ns = argparse.Namespace(**{**vars(self.args), **self.server_overrides})
        workers = getattr(self.server, "workers", None) or getattr(ns, "workers", 2) or 2
        self.baseline_server = start_hgweb_for_cli(
            ns, copy, self._workdir / "baseline", lambda m: self.progress(f"[baseline] {m}"), port=0,
            workers=workers, username=getattr(self.server, "username", None) or "hgharness",
            password=read_password(ns))
        return self._embedded_target(self.baseline_server, names, copy)

    def crossover(self) -> Callable | None:
        """A callable restarting both servers, the baseline's first, when the harness started both as plain
        embedded hgweb servers (--baseline embedded); else None. Two servers of one build on one busy machine lean
        apart, the one started first the slower (44 of 53 A/A runs): a paired load run measures half of its time
        with each start order, and the lean cancels (load/runner.py, load/ab.py)."""
        from hgharness.embedded import EmbeddedHgweb

        if type(self.server) is not EmbeddedHgweb or type(self.baseline_server) is not EmbeddedHgweb:
            return None

        def restart_both() -> None:
            self.baseline_server.stop()
            self.server.stop()
            self.baseline_server.start()  # on the same ports: the targets' URLs stay
            self.server.start()

        return restart_both

    def close(self) -> None:
        if self.baseline_server is not None:
            self.baseline_server.stop()
            self.baseline_server = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # --- the run directory and its summary ----------------------------------------------------------------

    def open_run_dir(self) -> Path:
        self.run_dir = new_run_dir(self.args.runs_dir, self.args.run_id)
        self.progress(f"run directory {self.run_dir}")
        self.summary = base_summary(self.run_dir, self.command, self.target.describe())
        build_id = (getattr(self.args, "build_id", None) or "").strip()
        if build_id:
            self.summary["build_id"] = build_id
        slo = getattr(self.args, "slo", None)
        if slo:  # the gates the run is judged by, when not load/slo.toml's
            self.summary["slo_file"] = str(Path(slo).resolve())
        if self.baseline is not None:
            self.summary["baseline"] = self.baseline.describe()
        self._open = True
        if self.target.insecure:
            self.summary["warnings"].append("TLS verification disabled (--insecure): the certificate was not checked")
            print(f"hgharness {self.command}: WARNING: TLS certificate verification is disabled (--insecure); "
                  "this run does not prove the site's certificate is valid", file=sys.stderr, flush=True)
        refusal = self.target.destructive_refusal()
        if refusal and self.command in SUBSET_COMMANDS:
            self.summary["warnings"].append(
                f"nondestructive subset: checks and pushes that change {self.target.host} were skipped "
                "(allow_destructive = true, HGHARNESS_ALLOW_DESTRUCTIVE=1 or --allow-destructive to run them)")
        return self.run_dir

    def context(self) -> StageContext:
        return StageContext(self.target, self.run_dir, self.args, self.progress, self.server, self.baseline,
                            self.crossover())

    def add(self, stage: StageResult) -> StageResult:
        s = self.summary
        s["tests"] += stage.tests
        s["actions"].update(stage.actions)
        s["slo"] += stage.slo
        if stage.traffic is not None:
            s["traffic"] = stage.traffic
        s["warnings"] += stage.warnings
        s["stages"].append(stage.entry())
        return stage

    def finish(self, printer: Callable | None = None) -> int:
        """Judge the run, write junit.xml, summary.json and index.html, print the summary; the exit status."""
        s = self.summary
        if self.server is not None:
            tracebacks = self.server.tracebacks()
            if tracebacks:
                self.add(StageResult("server-log", "failed", 1, {"failed": 1},
                                     detail=f"{len(tracebacks)} traceback(s) in the server error log"))
            self._keep_server_logs()
        code = overall_exit(s["stages"])
        ran = sum(st["counts"].get(k, 0) for st in s["stages"] for k in ("passed", "failed", "error"))
        if code == 0 and ran == 0:
            code = 2
            s["warnings"].append("no check ran")
        s.update(ended=now_iso(), duration_s=round(time.monotonic() - self._started, 3), exit_code=code,
                 verdict=VERDICTS[code])
        merge_junit(self.run_dir, [Path(st["junit"]) for st in s["stages"] if st.get("junit")])
        write_json(self.run_dir / "summary.json", s)
        self._open = False
        self.layers.build_report(self.run_dir)
        self.progress(f"report {self.run_dir / 'index.html'}")
        (printer or print_summary)(s, self.run_dir)
        for st in s["stages"]:  # the cause, where people look for it: one line on stderr, not only in a log
            if st["exit_code"] == 2 and st.get("detail"):
                print(f"hgharness {self.command}: the {st['name']} stage could not run: {st['detail']}",
                      file=sys.stderr, flush=True)
        return code

    def _keep_server_logs(self) -> None:
        logs = self.run_dir / "server"
        for p in self.server.log_files():
            if Path(p).exists():
                logs.mkdir(exist_ok=True)
                (logs / Path(p).name).write_text(redact(Path(p).read_text(errors="replace")))


def start_embedded(args, layers: Layers, workdir: Path, progress=print):
    """Start the embedded target that args describe (--site, --front, --set/--repos-dir ...) on loopback, its
    state in `workdir`. Returns (server, repository names, repository directory); the caller stops the server
    and removes workdir."""
    from hgharness.sites import KNOWN_SITES

    site = getattr(args, "site", None) or "hgweb"
    workdir = Path(workdir)
    password = read_password(args)
    access_log = getattr(args, "access_log", None)
    if access_log and site != "hgweb":
        raise HarnessError(f"--access-log: only the embedded hgweb writes an access log, not {site}")
    if access_log and not Path(access_log).resolve().parent.is_dir():
        raise HarnessError(f"--access-log {access_log}: its directory does not exist")
    if site != "hgweb" and getattr(args, "server_wrap", None):
        raise HarnessError(f"--server-wrap wraps the embedded hgweb, not {site}")
    if site == "kallithea":
        from hgharness.kallithea.server import start_for_cli

        return start_for_cli(args, layers.fixture_repos, password, progress=progress, workdir=workdir)
    if site != "hgweb":
        if site not in KNOWN_SITES:
            raise HarnessError(f"unknown site flavour {site!r} (known: {', '.join(sorted(KNOWN_SITES))})")
        raise HarnessError(f"no embedded target for site {site!r} in this build (available: hgweb)")
    from hgharness.front import check_front_arguments, start_hgweb_for_cli

    check_front_arguments(args, embedded=True)  # before building fixtures: bad options fail fast
    repos_dir, names = layers.fixture_repos(args, workdir, progress)
    port, workers = getattr(args, "port", 0) or 0, getattr(args, "workers", 2) or 2
    username = getattr(args, "user", None) or "hgharness"
    wrap = server_wrap(args)
    server = start_hgweb_for_cli(args, repos_dir, workdir, progress, port=port, workers=workers,
                                 username=username, password=password,  # behind --front, under --prefix
                                 access_log=access_log,  # gunicorn's default format there, for `load derive`
                                 **({"wrap": wrap} if wrap else {}))
    return server, names, Path(repos_dir)


def server_wrap(args) -> str | None:
    """--server-wrap MODULE:CALLABLE, checked: a WSGI middleware around the embedded hgweb candidate (a build to
    measure against the plain one with --baseline embedded); None when not given."""
    wrap = getattr(args, "server_wrap", None)
    if not wrap:
        return None
    from hgharness.embedded import wrap_module_spec

    module, _, func = wrap.partition(":")
    if not module or not func.isidentifier():
        raise HarnessError(f"--server-wrap {wrap!r}: expected MODULE:CALLABLE, e.g. mypackage.middleware:wrap")
    if getattr(args, "front", None):
        raise HarnessError("--server-wrap wraps the plain embedded hgweb: leave out --front")
    if wrap_module_spec(wrap) is None:
        raise HarnessError(f"--server-wrap {wrap!r}: no module {module!r} importable from here")
    return wrap


def read_password(args) -> str | None:
    """The push password: --password-file, else HGHARNESS_PASSWORD, else None (the server makes one)."""
    path = getattr(args, "password_file", None)
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as e:
            raise HarnessError(f"cannot read password file {path}: {e.strerror}") from None
        if not value:
            raise HarnessError(f"password file {path} is empty")
        return value
    return os.environ.get("HGHARNESS_PASSWORD") or None


def print_summary(summary: dict, run_dir: Path) -> None:
    print(f"\nhgharness {summary['command']} {summary['run_id']}: target {summary['target']['url']} "
          f"({summary['target']['site']}) {summary['verdict'].upper()}")
    for s in summary["stages"]:
        c = s.get("counts", {})
        line = (f"  {s['name']:<12} {s['status']:<8} {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
                f"{c.get('error', 0)} errors, {c.get('skipped', 0)} skipped")
        if s.get("detail"):
            line += f"  ({s['detail']})"
        print(line)
    for t in summary["tests"]:
        if t["outcome"] in ("failed", "error") and not t.get("harness_error"):
            print(f"  FAILED {t['id']}: {t['message'][:200]}")
    for w in summary["warnings"]:
        print(f"  WARNING: {w}")
    print(f"  run directory: {run_dir}  (summary.json, junit.xml)")
    sys.stdout.flush()
