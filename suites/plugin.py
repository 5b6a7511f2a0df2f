"""The pytest plugin of hgharness (entry point `pytest11`, and the root conftest of a checkout):
the markers, target options, the Target fixture, capability skips, harness-vs-target
error classification, failure artifacts and a machine-readable results file.

A suite test asks for `target` (the Target), `http` (an anonymous requests session), `http_auth`,
`fixture_repos` (name -> local Mercurial repository holding exactly what the target should serve) and
marks `@pytest.mark.needs("capability")` where the site must be able to do something.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from hgharness.errors import HarnessError
from hgharness.secrets import redact

_HARNESS_EXC = (HarnessError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def pytest_addoption(parser):
    g = parser.getgroup("hgharness", "hgharness target")
    g.addoption("--target", help="URL of the site or a name in targets.toml (env HGHARNESS_TARGET)")
    g.addoption("--site", help="site flavour: hgweb | kallithea (env HGHARNESS_SITE)")
    g.addoption("--config", dest="hgharness_config", help="targets file (env HGHARNESS_CONFIG)")
    g.addoption("--username", help="user for authenticated checks (env HGHARNESS_USERNAME)")
    g.addoption("--ca-bundle", help="CA certificates for an https target")
    g.addoption("--insecure", action="store_true", default=None, help="skip TLS verification")
    g.addoption("--allow-destructive", action="store_true", default=None,
                help="run destructive checks on a non-loopback target you own (env HGHARNESS_ALLOW_DESTRUCTIVE)")
    g.addoption("--run-dir", help="where failure artifacts go (env HGHARNESS_RUN_DIR)")


# --- the Target -----------------------------------------------------------------------------------------------

def _build_target(config):
    cached = getattr(config, "_hgharness_target", None)
    if cached is not None:
        if isinstance(cached, HarnessError):
            raise cached
        return cached
    from hgharness.http import probe
    from hgharness.target import Target

    try:
        t = Target.from_options(target=config.getoption("target"), site=config.getoption("site"),
                                config=config.getoption("hgharness_config"),
                                username=config.getoption("username"), ca_bundle=config.getoption("ca_bundle"),
                                insecure=config.getoption("insecure"),
                                allow_destructive=config.getoption("allow_destructive"))
        probe(t)
    except HarnessError as e:
        config._hgharness_target = e
        raise
    config._hgharness_target = t
    return t


@pytest.fixture(scope="session")
def target(pytestconfig):
    return _build_target(pytestconfig)


@pytest.fixture(scope="session")
def http(target):
    from hgharness.http import session

    with session(target) as s:
        yield s


@pytest.fixture(scope="session")
def http_auth(target):
    from hgharness.http import session

    if not target.has_credentials():
        pytest.skip("needs credentials: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    with session(target, auth=True) as s:
        yield s


@pytest.fixture(scope="session")
def fixture_repos(target, tmp_path_factory):
    """name -> local repository path holding what the target serves.

    From the target's fixture_dir when the harness provisioned it (it generated every byte); otherwise cloned
    over the wire protocol, an independent channel from the web pages under test.
    """
    from hgharness import hg

    repos = {}
    if target.fixture_dir:
        base = Path(target.fixture_dir)
        names = target.repos or sorted(p.name for p in base.iterdir() if (p / ".hg").is_dir())
        for name in names:
            repos[name] = base / name
        return repos
    from hgharness.http import session

    names = target.repos or target.site.list_repos(target, session(target, auth=True))
    dest = tmp_path_factory.mktemp("fixture-clones")
    for name in names:
        hg.clone(target, name, dest / name.replace("/", "_"))
        repos[name] = dest / name.replace("/", "_")
    return repos


# --- capability skips -----------------------------------------------------------------------------------------

MARKERS = {  # declared here so that an installed harness has them too (pytest runs with --strict-markers)
    "smoke": "a fast subset that says whether the site is up and serving",
    "headless": "HTTP checks without a browser",
    "security": "escaping, traversal, headers",
    "functional": "Selenium flows in a real browser",
    "load": "Locust load profiles",
    "traffic": "Mercurial clone/pull/push traffic",
    "nondestructive": "changes nothing on the target (production-safe)",
    "destructive": "creates or changes state on the target (pushes, repositories, users)",
    "needs(capability)": "needs a site capability; skipped with the capability named when absent",
    "slow": "takes more than a few seconds",
    "kallithea": "needs the embedded Kallithea target",
    "integration": "starts real servers",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config._hgharness_results = []
    aimed = config.getoption("target") or os.environ.get("HGHARNESS_TARGET")
    if aimed and not hasattr(config, "workerinput") and not (config.getoption("run_dir") or
                                                             os.environ.get("HGHARNESS_RUN_DIR")):
        # pytest run by hand against a target: one temporary run directory for the clones of the target and the
        # failure artifacts, shared with the xdist workers (spawned after this) and tidied at the end
        config._hgharness_tmp_run_dir = tempfile.mkdtemp(prefix="hgharness-run-")
        os.environ["HGHARNESS_RUN_DIR"] = config._hgharness_tmp_run_dir


def is_destructive(item) -> bool:
    """Tests change the target unless marked nondestructive (DESIGN.md convention 4)."""
    names = {m.name for m in item.iter_markers()}
    return "destructive" in names or "nondestructive" not in names


def destructive_skip_reason(item) -> str | None:
    """Why this test must not run on the target (a non-loopback target that did not allow changes), or None.
    Only tests that use the target are gated: the harness's own tests never touch a deployed site."""
    if "target" not in getattr(item, "fixturenames", ()) or not is_destructive(item):
        return None
    try:
        t = _build_target(item.config)
    except HarnessError:
        return None  # the target fixture reports it, as a harness error
    return t.destructive_refusal()


def pytest_runtest_setup(item):
    reason = destructive_skip_reason(item)
    if reason:
        pytest.skip(reason)
    for mark in item.iter_markers("needs"):
        t = _build_target(item.config)
        for cap in mark.args:
            if not t.can(cap):
                pytest.skip(f"needs {cap!r}: site {t.site_name!r} does not have it")


# --- classification, artifacts, results --------------------------------------------------------------------------

def _run_dir(config) -> Path:
    d = config.getoption("run_dir") or os.environ.get("HGHARNESS_RUN_DIR")
    if not d:
        d = getattr(config, "_hgharness_tmp_run_dir", None) or tempfile.mkdtemp(prefix="hgharness-run-")
        config._hgharness_tmp_run_dir = d
    return Path(d)


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-150:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed and _gave_up(call.excinfo.value):
        # the request was never sent (the site let too many pass their deadline): not checked, not failed
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: unverified: {call.excinfo.value}")
        return
    if call.excinfo is not None and call.excinfo.errisinstance(_HARNESS_EXC):
        from hgharness.http import explain

        exc = call.excinfo.value
        target = _target_or_none(item.config)
        broke = None if isinstance(exc, HarnessError) else _request_broke_on_a_live_site(item.config, exc)
        if broke:  # the site is up: this one request dying is the site's failure, not ours
            report.user_properties.append(("target_error", redact(broke)))
        else:
            msg = str(exc) if isinstance(exc, HarnessError) else explain(target, exc)
            report.user_properties.append(("harness_error", redact(msg)))
    if report.failed and call.when in ("setup", "call"):
        # Any fixture value that knows how to save artifacts (a browser, a server) does so on failure.
        dest = _run_dir(item.config) / "artifacts" / _safe_name(item.nodeid)
        saved = []
        for value in getattr(item, "funcargs", {}).values():
            saver = getattr(value, "hgharness_artifacts", None)
            if callable(saver):
                try:
                    dest.mkdir(parents=True, exist_ok=True)
                    saved += [str(p) for p in saver(dest)]
                except Exception as e:  # an artifact failure must not hide the test failure
                    saved.append(f"artifact error: {type(e).__name__}: {e}")
        if saved:
            report.user_properties.append(("artifacts", saved))
            report.sections.append(("artifacts", "\n".join(saved)))


def _gave_up(exc) -> bool:
    from hgharness.http import GaveUp

    seen = set()
    while exc is not None and id(exc) not in seen:  # raised inside a check's own handler, too
        if isinstance(exc, GaveUp):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _request_broke_on_a_live_site(config, exc) -> str | None:
    """A request that reached the site and then died (connection dropped without an answer, no answer in time)
    while the site still answers its base URL: one line saying so, else None (the site is unreachable: a
    harness error). A refused or unresolvable connection is never the site's failure here."""
    from hgharness.http import never_connected, probe
    from hgharness.target import Target

    target = getattr(config, "_hgharness_target", None)
    if not isinstance(target, Target) or never_connected(exc) or isinstance(
            exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return None
    text = str(exc)
    try:
        probe(target, timeout=10)
    except HarnessError:
        return None
    request = getattr(exc, "request", None)
    where = f"{request.method} {request.url}" if request is not None else "a request"
    from hgharness.http import AnswerTooLarge, DeadlineExceeded

    if isinstance(exc, (DeadlineExceeded, AnswerTooLarge)):
        return f"{text}, while the site answers other requests"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{where}: no answer in time (read timeout), while the site answers other requests"
    reason = "connection reset" if "reset" in text.lower() else (
        "connection closed without a response" if "RemoteDisconnected" in text or "aborted" in text.lower()
        else " ".join(text.split())[:160])
    return f"{where}: {reason}, while the site answers other requests (did the page crash a server process?)"


def _target_or_none(config):
    class _Unknown:
        url = "(target)"

    t = getattr(config, "_hgharness_target", None)
    return t if t is not None and not isinstance(t, HarnessError) else _Unknown()


_config = None  # the session's config, for the logreport hook (which gets no config argument)


def pytest_runtest_logreport(report):
    config = _config
    if config is None:
        return
    props = dict(report.user_properties)
    if report.when == "call" or (report.when == "setup" and not report.passed) or \
            (report.when == "teardown" and report.failed):
        outcome = report.outcome
        if report.failed and report.when != "call":
            outcome = "error"
        message = ""
        known = getattr(report, "wasxfail", None) if report.skipped else None
        if report.failed:
            message = props.get("target_error") or redact(_short_message(report))
        elif known is not None:
            message = redact(str(known).removeprefix("reason: "))
        elif report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        record = {
            "id": report.nodeid, "outcome": outcome, "when": report.when,
            "duration_s": round(report.duration, 4), "message": message,
            "artifacts": props.get("artifacts", []), "harness_error": props.get("harness_error"),
        }
        if known is not None:  # a known defect of the site software (an expected failure), not a plain skip
            record["known_issue"] = True
        if props.get("header_grade"):  # security-header grades (warnings under header_policy = warn)
            record["header_grade"] = props["header_grade"]
        config._hgharness_results.append(record)


def _short_message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0][:500] if crash.message else ""
    return str(report.longrepr).strip().splitlines()[-1][:500] if report.longrepr else ""


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    global _config
    _config = session.config


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    tmp_run_dir = getattr(config, "_hgharness_tmp_run_dir", None)
    if tmp_run_dir:
        for clones in Path(tmp_run_dir).glob("hgharness-clones-*"):
            shutil.rmtree(clones, ignore_errors=True)  # the target's repositories, cloned for this session only
        if not any(Path(tmp_run_dir).iterdir()):
            Path(tmp_run_dir).rmdir()  # nothing failed: no artifacts to keep
    if hasattr(config, "workerinput"):
        return  # xdist worker: the controller records everything
    results = config._hgharness_results
    path = os.environ.get("HGHARNESS_RESULTS")
    if path:
        Path(path).write_text(json.dumps(results, indent=1))
    harness = sorted({r["harness_error"] for r in results if r.get("harness_error")})
    if harness:
        session.exitstatus = 2
        tr = config.pluginmanager.get_plugin("terminalreporter")
        for msg in harness:
            if tr:
                tr.write_line(f"HARNESS ERROR: {msg}")
