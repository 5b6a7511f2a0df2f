"""index.html of real runs: verdict first, what failed, SLOs, charts; escaped, self-contained, robust.

The runs are real: `hgharness run` against the embedded hgweb (healthy, and deliberately broken), with short
traffic and load stages; a headless Chromium opens the result.
"""

import json
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from hgharness.reports.html import build_report
from hgharness.reports.samples import write_samples
from hgharness.reports.schema import validate_summary
from tests.conftest import clean_env, hgweb, run_cli
from tests.reports_helpers import assert_console_clean, assert_rendered

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("reports-html")]  # one rich run per session


def _stages_for_rich_run() -> str:
    from hgharness.cli import LAYERS

    return ",".join(s for s in ("headless", "functional", "traffic", "load") if s in LAYERS.stages)


@pytest.fixture(scope="module")
def rich_run(tmp_path_factory) -> Path:
    """A real run with every stage this build has, kept short. The report is under test, not the target: a
    target failure (exit 1) still makes a report; only a harness error (exit 2) is a problem here."""
    runs = tmp_path_factory.mktemp("runs")
    env = clean_env(HGHARNESS_LOAD_DURATION="6", HGHARNESS_TRAFFIC_DURATION="4")
    proc = run_cli("run", "--stages", _stages_for_rich_run(), "-m", "smoke", "--runs-dir", runs, "--run-id", "rich",
                   "--quiet", env=env, timeout=400)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return runs / "rich"


@pytest.fixture(scope="module")
def failed_run(seed_repos, tmp_path_factory) -> Path:
    """A real run against a target whose log pages are broken (500 with hostile HTML)."""
    runs = tmp_path_factory.mktemp("runs")
    with hgweb(seed_repos, wrap="tests.reports_broken:broken_log") as server:
        proc = run_cli("run", "--stages", "headless", "-m", "smoke", "--target", server.url, "--runs-dir", runs,
                       "--run-id", "broken", "--quiet", timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return runs / "broken"


def _page(run_dir: Path) -> str:
    return (run_dir / "index.html").read_text(encoding="utf-8")


def _assert_self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page), "the report must not load anything from a network"
    import html

    assert "Content-Security-Policy" in page and "default-src 'none'" in html.unescape(page)


def test_real_run_report_puts_the_verdict_first_and_has_the_charts(rich_run):
    page = _page(rich_run)
    _assert_self_contained(page)
    assert page.index('id="verdict"') < page.index("<h2")
    summary = json.loads((rich_run / "summary.json").read_text())
    verdict = summary["verdict"]
    assert re.search(rf'class="verdict v-{verdict}">{verdict.upper()}', page)
    assert (verdict == "failed") == ('id="failures"' in page)
    for stage in summary["stages"]:
        assert f"<td>{stage['name']}</td>" in page
    assert 'id="latency"' in page and 'id="throughput"' in page
    assert page.count('class="chart"') >= 4
    if (rich_run / "locust_stats_history.csv").exists():
        assert "Latency percentiles over time" in page
    if summary.get("traffic"):
        assert 'id="hg"' in page and f"<td>{summary['traffic']['pushed']}</td>" in page
    if summary["slo"]:
        assert 'id="slo"' in page


def test_real_summaries_follow_the_documented_schema(rich_run, failed_run):
    for run in (rich_run, failed_run):
        summary = json.loads((run / "summary.json").read_text())
        assert validate_summary(summary) == []
        proc = run_cli("report", "validate", run)
        assert proc.returncode == 0 and "valid" in proc.stdout


def test_schema_validation_catches_what_it_should(rich_run):
    summary = json.loads((rich_run / "summary.json").read_text())
    broken = dict(summary, verdict="mostly fine", surprise=1)
    broken["stages"] = [dict(summary["stages"][0], exit_code=7)]
    del broken["run_id"]
    errors = validate_summary(broken)
    assert any("$.verdict" in e for e in errors)
    assert any("$.surprise" in e for e in errors)
    assert any("$.stages[0].exit_code" in e for e in errors)
    assert any("run_id" in e for e in errors)
    bad_dir = rich_run.parent / "bad-summary"
    bad_dir.mkdir(exist_ok=True)
    (bad_dir / "summary.json").write_text(json.dumps(broken))
    proc = run_cli("report", "validate", bad_dir)
    assert proc.returncode == 2 and "problem" in proc.stdout


def test_failed_run_report_shows_what_failed_escaped(failed_run):
    page = _page(failed_run)
    _assert_self_contained(page)
    assert re.search(r'class="verdict v-failed">FAILED', page)
    assert 'id="failures"' in page
    summary = json.loads((failed_run / "summary.json").read_text())
    failed = [t for t in summary["tests"] if t["outcome"] in ("failed", "error")]
    assert failed
    for t in failed:
        assert _esc(t["id"]) in page
    assert page.index('id="failures"') < page.index('id="stages"')
    assert "<img src=x" not in page and 'alert("report-xss")' not in page


def _esc(text: str) -> str:
    """As the report's templates escape it (Jinja2 autoescape: MarkupSafe)."""
    from markupsafe import escape

    return str(escape(text))


def _png(path: Path, width: int = 4, height: int = 3) -> Path:
    """A real (tiny, red) PNG file."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


@pytest.fixture
def hostile_run(failed_run, tmp_path) -> Path:
    """The failed run, plus hostile names everywhere repository data can reach, and failure artifacts."""
    run = tmp_path / "hostile"
    shutil.copytree(failed_run, run)
    summary = json.loads((run / "summary.json").read_text())
    art = run / "artifacts" / "t1"
    art.mkdir(parents=True)
    (art / "url.txt").write_text("http://127.0.0.1/demo/log?x=" + EVIL + "\n")
    (art / "page.html").write_text("<html><script>alert(3)</script></html>")
    (art / "console.log").write_text("SEVERE " + EVIL + "\n" * 400)
    summary["tests"].append({"id": f"suites/functional/test_x.py::test_log[{EVIL}]", "stage": "functional",
                             "outcome": "failed", "duration_s": 1.5, "message": "</pre>" + EVIL,
                             "artifacts": [str(_png(art / "screenshot.png")), str(art / "url.txt"),
                                           str(art / "page.html"), str(art / "console.log"), "/etc/passwd",
                                           "../../outside.png", "artifact error: OSError: " + EVIL]})
    summary["actions"][EVIL] = {"count": 3, "failures": 0, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0}
    summary["slo"].append({"gate": EVIL + ".p95_ms", "status": "failed", "observed": 9, "threshold": 1})
    summary["traffic"] = {"pushed": 1, "verified": 1, "lost": 0, "ops": {EVIL: {"count": 1}}}
    summary["warnings"].append(EVIL)
    (run / "summary.json").write_text(json.dumps(summary))
    write_samples(run, EVIL, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], source="x", t=[1.7e9 + i for i in range(6)])
    (run / "functional-timings-gw0.jsonl").write_text(
        json.dumps({"action": EVIL, "load_ms": 12.5, "ttfb_ms": 3.0, "t": 1.7e9}) + "\nnot json\n")
    (run / "locust_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%\nGET,\"" + EVIL.replace('"', '""')
        + "\",5,1,2.5,3,4,5\n")
    build_report(run)
    return run


def test_hostile_data_is_escaped_and_artifacts_are_shown(hostile_run):
    page = _page(hostile_run)
    _assert_self_contained(page)
    assert "<img src=x" not in page and "alert(3)" not in page
    assert _esc(EVIL) in page
    assert page.count('src="data:image/png;base64,') == 1  # the screenshot, inline
    assert 'href="artifacts/t1/page.html"' in page and 'href="artifacts/t1/console.log"' in page
    assert 'href="/etc/passwd"' not in page and "artifact outside the run directory: /etc/passwd" in page
    assert "outside.png" in page and 'href="../../outside.png"' not in page
    assert "functional-timings-gw0.jsonl: 1 unreadable line(s) skipped" in page
    assert 'id="functional"' in page


def test_report_survives_missing_and_damaged_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    page = build_report(empty).read_text()
    assert "UNKNOWN" in page and "no verdict" in page
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "summary.json").write_text('{"verdict": "passed", "stages": [')
    (damaged / "locust_stats_history.csv").write_bytes(b"\x00\xff garbage,\n1,2,3\n")
    (damaged / "traffic.json").write_text("[1, 2")
    page = build_report(damaged).read_text()
    assert "could not read summary.json" in page and "could not read traffic.json" in page
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "summary.json").write_text(json.dumps({"verdict": "passed", "actions": {"a": {"p50_ms": "fast"}},
                                                  "slo": [{"gate": "x"}], "stages": [{"counts": {"passed": "1"}}]}))
    page = build_report(odd).read_text()
    assert "PASSED" in page


def test_report_build_and_serve_commands(rich_run, tmp_path):
    import requests

    from hgharness.procs import ManagedProcess, wait_until

    (rich_run / "index.html").unlink()
    proc = run_cli("report", "build", rich_run)
    assert proc.returncode == 0 and (rich_run / "index.html").exists()
    log = tmp_path / "serve.log"
    server = ManagedProcess([*_python(), "-m", "hgharness", "report", "serve", str(rich_run), "--port", "0",
                             "--no-build"], "report-serve", env=clean_env(), cwd=str(Path(__file__).parents[1]),
                            stdout_path=log)
    try:
        url = wait_until(lambda: _url_in(log), what="the report server's URL")
        index = requests.get(url, timeout=10)
        assert index.status_code == 200 and 'id="verdict"' in index.text
        assert "sandbox" not in index.headers.get("Content-Security-Policy", "")
        other = requests.get(url + "summary.json", timeout=10)
        assert other.status_code == 200 and other.headers["Content-Security-Policy"] == "sandbox"
        assert requests.get(url + "../../etc/passwd", timeout=10).status_code == 404
    finally:
        server.stop()
    assert not server.alive()


def _python():
    import sys

    return [sys.executable]


def _url_in(log: Path):
    m = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text() if log.exists() else "")
    return m.group(1) if m else None


def test_headless_chromium_renders_the_report_without_console_errors(rich_run, hgweb_server, tmp_path):
    """Open index.html in Chromium: it renders, the console is clean, the charts are drawn. Screenshot kept."""
    from hgharness.browser import BrowserConfig, start_browser

    browser = start_browser(BrowserConfig.from_env(window="1280x1000"),
                            timings_path=rich_run / "functional-timings-reports.jsonl")
    try:
        # real Navigation Timing of real hgweb pages, so the functional section has real data too
        from tests.conftest import target_for

        target = target_for(hgweb_server)
        repo = next(r for r in sorted(target.repos) if r != "hostile")
        for kind in ("index", "log", "graph"):
            browser.visit(target.url_for(target.site.route(kind, repo if kind != "index" else None)), kind)
        assert run_cli("report", "build", rich_run).returncode == 0
        browser.driver.get((rich_run / "index.html").as_uri())
        d = browser.driver
        verdict = json.loads((rich_run / "summary.json").read_text())["verdict"]
        assert d.title.startswith(f"hgharness {verdict}")
        assert d.find_element("id", "verdict").text.startswith(verdict.upper())
        assert d.find_element("id", "functional").is_displayed()
        shot = rich_run / "report-screenshot.png"
        assert_rendered(browser, 5, "polyline, rect.bar, g.box, circle", shot, 12000)
        # keep it with the test artifacts
        shutil.copy(shot, tmp_path / shot.name)
    finally:
        browser.quit()


def test_headless_chromium_runs_no_hostile_script(hostile_run):
    from hgharness.browser import BrowserConfig, start_browser

    browser = start_browser(BrowserConfig.from_env())
    try:
        browser.driver.get((hostile_run / "index.html").as_uri())
        assert browser.driver.find_element("id", "verdict").text.startswith("FAILED")
        assert browser.driver.execute_script("return document.querySelectorAll('script').length") == 0
        assert browser.driver.find_elements("css selector", "img.shot")[0].get_attribute("naturalWidth") == "4"
        assert_console_clean(browser)
    finally:
        browser.quit()


def test_known_site_defects_and_header_warnings_have_their_own_section(tmp_path):
    """Expected failures (known defects of stock hgweb, e.g. the stored XSS in filelog.tmpl) and missing
    security headers do not fail the run, and are not buried among plain skips: summary.json flags them, the
    stage counts them, the report lists them by issue."""
    from hgharness.load.slo import DEFAULT_SLO

    gates = tmp_path / "our-gates.toml"  # the gates file and the build are in the summary and the page's header
    gates.write_text(DEFAULT_SLO.read_text())
    proc = run_cli("run", "--stages", "headless", "-m", "security", "--runs-dir", tmp_path, "--run-id", "sec",
                   "--slo", gates, "--build-id", "build-4711", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = tmp_path / "sec"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert validate_summary(summary) == []
    assert summary["slo_file"] == str(gates.resolve()) and summary["build_id"] == "build-4711"
    header = _page(run_dir).split('<dl class="meta">')[1].split("</dl>")[0]
    assert f"<dt>SLO gates</dt><dd>{gates.resolve()}</dd>" in header and "<dd>build-4711</dd>" in header
    known = [t for t in summary["tests"] if t.get("known_issue")]
    assert known and all(t["outcome"] == "skipped" for t in known)
    assert summary["stages"][0]["known_issues"] == len(known)
    assert "known site defects" in proc.stdout
    page = _page(run_dir)
    assert 'id="findings"' in page and "hgweb-filelog-feed-title-xss" in page
    grades = json.loads((run_dir / "security-headers.json").read_text())["headers"]
    for g in grades:
        assert f"<td>{g['row']}</td>" in page
