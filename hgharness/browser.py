"""The browser the functional suites drive: local headless Chromium or a W3C Remote WebDriver (Selenium Grid).

Local: Debian's chromium through the system chromedriver, named explicitly to Selenium (ChromeService
executable_path), so Selenium Manager never runs and nothing is downloaded. HOME, the profile and downloads
live in a temp dir removed at quit. Remote: `--selenium-remote URL` / HGHARNESS_SELENIUM_REMOTE.

Settings (environment, overridable by options): HGHARNESS_SELENIUM_REMOTE, HGHARNESS_BROWSER_WINDOW ("1280x900"),
HGHARNESS_BROWSER_TIMEOUT (the one base timeout in seconds; every wait scales it), HGHARNESS_CHROMIUM and
HGHARNESS_CHROMEDRIVER (binaries, default: found on PATH).

The Browser records Navigation Timing per action name (jsonl in the run directory), fails on JavaScript errors
in the console unless the target allows them, and saves failure artifacts (screenshot, HTML, console, URL).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.procs import _die_with_parent, _signal_group
from hgharness.secrets import Secret, redact

INSTALL_HINT = "apt-get install chromium chromium-driver"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Without the network switches Chromium phones home (updates, sync, QUIC probes) on an offline machine.
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-quic", "--disable-extensions", "--no-default-browser-check", "--password-store=basic",
)
JS_SOURCES = ("javascript", "console-api")  # console entries that are the page's scripts speaking
NAV_TIMING_JS = """
const e = performance.getEntriesByType('navigation')[0];
if (!e || !e.loadEventEnd) return null;
return {ttfb_ms: e.responseStart - e.startTime, dcl_ms: e.domContentLoadedEventEnd - e.startTime,
        load_ms: e.loadEventEnd - e.startTime, status: e.responseStatus || 0};
"""


@dataclass
class BrowserConfig:
    remote: str | None = None
    window: tuple[int, int] = (1280, 900)
    timeout: float = 15.0
    chromium: str | None = None
    chromedriver: str | None = None

    @classmethod
    def from_env(cls, env=None, remote=None, window=None, timeout=None) -> "BrowserConfig":
        env = os.environ if env is None else env
        remote = remote or env.get("HGHARNESS_SELENIUM_REMOTE") or None
        window = window or env.get("HGHARNESS_BROWSER_WINDOW") or "1280x900"
        timeout = timeout or env.get("HGHARNESS_BROWSER_TIMEOUT") or 15
        try:
            w, h = (int(x) for x in str(window).lower().split("x"))
        except ValueError:
            raise HarnessError(f"bad browser window size {window!r}: expected WIDTHxHEIGHT, e.g. 1280x900") from None
        try:
            timeout = float(timeout)
        except ValueError:
            raise HarnessError(f"bad browser timeout {timeout!r}: expected seconds") from None
        if remote:
            remote = _check_remote_url(remote)
        return cls(remote=remote, window=(w, h), timeout=timeout, chromium=env.get("HGHARNESS_CHROMIUM") or None,
                   chromedriver=env.get("HGHARNESS_CHROMEDRIVER") or None)

    @property
    def mode(self) -> str:
        return "remote" if self.remote else "local"


def _check_remote_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HarnessError(f"bad --selenium-remote URL {safe_url(url)!r}: expected http(s)://HOST:PORT[/wd/hub]")
    if parts.password:
        Secret(urllib.parse.unquote(parts.password))  # registered: redacted wherever the URL might be printed
    return url


def safe_url(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urllib.parse.urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def find_local(config: BrowserConfig) -> tuple[str, str]:
    """(chromium, chromedriver) executables; HarnessError naming what to install when one is missing."""
    chromium = _which(config.chromium) if config.chromium else next(filter(None, map(_which, CHROMIUM_NAMES)), None)
    if not chromium:
        where = config.chromium or f"{', '.join(CHROMIUM_NAMES)} on PATH"
        raise HarnessError(f"Chromium not found ({where}): install it with `{INSTALL_HINT}` "
                           "(or point HGHARNESS_CHROMIUM at it, or use --selenium-remote URL)")
    driver = _which(config.chromedriver or "chromedriver")
    if not driver:
        where = config.chromedriver or "chromedriver on PATH"
        raise HarnessError(f"chromedriver not found ({where}): install it with `{INSTALL_HINT}` "
                           "(or point HGHARNESS_CHROMEDRIVER at it, or use --selenium-remote URL)")
    return chromium, driver


def _which(name: str) -> str | None:
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


def check_remote(url: str, timeout: float = 10) -> dict:
    """GET the W3C /status of a remote WebDriver; HarnessError in one line when it cannot be reached."""
    import requests

    status_url = url.rstrip("/") + "/status"
    try:
        r = requests.get(status_url, timeout=timeout)
    except requests.exceptions.ConnectionError as e:
        reason = "connection refused" if "refused" in str(e) else " ".join(str(e).split())[:160]
        raise HarnessError(f"remote WebDriver {safe_url(url)} is unreachable: {reason} (start the Grid, or "
                           "`chromedriver --port=N`, or drop --selenium-remote to use local Chromium)") from None
    except requests.exceptions.RequestException as e:
        raise HarnessError(f"remote WebDriver {safe_url(url)} is unreachable: {type(e).__name__}") from None
    try:
        value = r.json()["value"]
    except (ValueError, KeyError, TypeError):
        raise HarnessError(f"{safe_url(url)} is not a W3C WebDriver endpoint: GET /status gave HTTP "
                           f"{r.status_code} without a WebDriver status") from None
    return value


def preflight(config: BrowserConfig) -> str:
    """Fail fast, in one line, when no browser can be had; returns a description of the browser used."""
    if config.remote:
        check_remote(config.remote)
        return f"remote WebDriver {safe_url(config.remote)}"
    chromium, driver = find_local(config)
    return f"local Chromium {chromium} via {driver}"


def chrome_options(config: BrowserConfig, target=None, profile: Path | None = None, downloads: Path | None = None):
    from selenium import webdriver

    o = webdriver.ChromeOptions()
    for arg in CHROMIUM_ARGS:
        o.add_argument(arg)
    o.add_argument(f"--window-size={config.window[0]},{config.window[1]}")
    # Debian's chromium-headless-shell never starts for chromedriver with --user-data-dir (no DevTools port
    # file appears); left out, chromedriver gives it a temporary profile of its own and removes it at quit.
    if profile is not None and "headless-shell" not in (config.chromium or ""):
        o.add_argument(f"--user-data-dir={profile}")
    if downloads is not None:
        o.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                            "download.prompt_for_download": False})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    o.page_load_strategy = "normal"
    if target is not None and (target.insecure or (target.ca_bundle and profile is None)):
        # --insecure: the user said so. A private CA with a remote browser: we cannot reach its certificate
        # store, so it accepts what the target probe has already verified against that CA (requests).
        # A local browser trusts the CA for real: trust_ca() imports it into the NSS store of its temp HOME.
        o.accept_insecure_certs = True
    return o


def trust_ca(ca_bundle: str, home: Path) -> None:
    """Make a local Chromium trust the CA(s) in ca_bundle: import them into $HOME/.pki/nssdb (certutil)."""
    import re
    import subprocess

    certutil = shutil.which("certutil")
    if not certutil:
        raise HarnessError("certutil not found: the browser cannot be told to trust --ca-bundle; "
                           "install it with `apt-get install libnss3-tools`")
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", Path(ca_bundle).read_text(), re.S)
    if not pems:
        raise HarnessError(f"CA bundle {ca_bundle} holds no PEM certificate")
    subprocess.run([certutil, "-d", f"sql:{db}", "-N", "--empty-password"], check=True, capture_output=True)
    for i, pem in enumerate(pems):
        cert = home / f"ca-{i}.pem"
        cert.write_text(pem + "\n")
        subprocess.run([certutil, "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", f"hgharness-ca-{i}", "-i", str(cert)],
                       check=True, capture_output=True)


# What chromedriver answers about an element of a document being torn down, instead of "stale element" (seen
# about once in a few hundred navigations): the old document is gone all the same.
GONE_NODE = ("does not belong to the document", "No node with given id", "Node is detached from document")


# $TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket: a Unix socket path, at most 107 bytes
SOCKET_TAIL, SOCKET_PATH_MAX = "/org.chromium.Chromium.XXXXXX/SingletonSocket", 107
SHORT_TMP = "/tmp"


def _gone(element) -> bool:
    """True once `element`'s document has been replaced (Selenium's staleness_of, plus chromedriver's other
    answer for a node of a document being torn down)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if any(m in str(e) for m in GONE_NODE):
            return True
        raise


def start_browser(config: BrowserConfig, target=None, timings_path: Path | None = None) -> "Browser":
    """A started Browser (local or remote); HarnessError in one line when it cannot start."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException

    tmp = Path(tempfile.mkdtemp(prefix="hgb-"))  # short: Chromium's socket path below it must fit in 108 bytes
    extra: list[Path] = []  # directories outside tmp, removed with it
    try:
        if config.remote:
            check_remote(config.remote)
            options = chrome_options(config, target)
            parts = urllib.parse.urlsplit(config.remote)
            client = None
            if parts.username:
                from selenium.webdriver.remote.client_config import ClientConfig

                client = ClientConfig(remote_server_addr=safe_url(config.remote),
                                      username=urllib.parse.unquote(parts.username),
                                      password=urllib.parse.unquote(parts.password or ""))
            try:
                driver = webdriver.Remote(command_executor=safe_url(config.remote) if client else config.remote,
                                          options=options, client_config=client)
            except WebDriverException as e:
                raise HarnessError(f"remote WebDriver {safe_url(config.remote)} refused a Chromium session: "
                                   f"{_first_line(e)}") from None
        else:
            chromium, chromedriver = find_local(config)
            home, profile, downloads, scratch = tmp / "home", tmp / "profile", tmp / "downloads", tmp / "t"
            if len(str(scratch)) + len(SOCKET_TAIL) > SOCKET_PATH_MAX:
                # a deep TMPDIR (a suite's, inside a test's): the socket goes to a short directory of its own,
                # which quit() removes like the rest
                scratch = Path(tempfile.mkdtemp(prefix="hgb-", dir=SHORT_TMP))
                extra.append(scratch)
            for d in (home, profile, downloads, scratch):
                d.mkdir(exist_ok=True)
            options = chrome_options(config, target, profile, downloads)
            options.binary_location = chromium
            if target is not None and target.ca_bundle and not target.insecure:
                trust_ca(target.ca_bundle, home)
            env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
            # TMPDIR too: Chromium keeps its profile's SingletonSocket in $TMPDIR/org.chromium.Chromium.*, left
            # behind whenever a browser is killed rather than closed.
            env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
            env["TMPDIR"] = str(scratch)
            # chromedriver leads its own process group (Chromium joins it) and dies with us: nothing outlives a
            # killed pytest worker (quit() also kills the group).
            service = webdriver.ChromeService(executable_path=chromedriver, env=env,
                                              log_output=str(tmp / "chromedriver.log"),
                                              popen_kw={"start_new_session": True, "preexec_fn": _die_with_parent})
            try:
                driver = webdriver.Chrome(service=service, options=options)
            except WebDriverException as e:
                raise HarnessError(f"could not start Chromium ({chromium}) through {chromedriver}: "
                                   f"{_first_line(e)} (versions must match: `{INSTALL_HINT}`)") from None
            try:
                # Downloads go straight to our dir, without the "dangerous file type" hold a .py file would get.
                driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                                       "downloadPath": str(downloads)})
            except WebDriverException as e:
                driver.quit()
                raise HarnessError(f"Chromium refused the download settings: {_first_line(e)}") from None
    except BaseException:
        for d in (tmp, *extra):
            shutil.rmtree(d, ignore_errors=True)
        raise
    browser = Browser(driver, config, tmp, target=target, timings_path=timings_path)
    browser.extra_dirs = extra
    return browser


def _first_line(exc) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    lines = [ln.strip() for ln in str(msg).splitlines() if ln.strip()]
    return redact(lines[0][:300]) if lines else type(exc).__name__


class JavaScriptError(AssertionError):
    """The page logged a JavaScript error (a SEVERE console entry): a target failure."""


class Browser:
    """One browser session (one per pytest-xdist worker) and what the suites need around it."""

    def __init__(self, driver, config: BrowserConfig, tmp: Path, target=None, timings_path: Path | None = None):
        self.driver = driver
        self.config = config
        self.tmp = tmp
        self.target = target
        self.timings_path = Path(timings_path) if timings_path else None
        self.allow_js_errors = bool(target is not None and target.allow_js_errors)
        self._quit = False
        self.extra_dirs: list[Path] = []
        atexit.register(self.quit)
        self.console: list[dict] = []  # every entry seen since reset(), for artifacts
        self.timings: list[dict] = []
        driver.set_page_load_timeout(config.timeout * 4)
        driver.set_script_timeout(config.timeout)

    @property
    def downloads(self) -> Path:
        return self.tmp / "downloads"

    # --- waiting: one base timeout, scaled per call ---
    def wait(self, scale: float = 1.0):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, self.config.timeout * scale, poll_frequency=0.05)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    @property
    def url(self) -> str:
        return self.driver.current_url

    # --- navigation with timings and console checks ---
    def visit(self, url: str, action: str) -> dict | None:
        with self.alive():
            self.driver.get(url)
        return self.page_loaded(action)

    @contextmanager
    def alive(self):
        """A browser that died (crash, killed, Grid node gone) is a harness error, never a target failure."""
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        try:
            yield
        except InvalidSessionIdException as e:
            raise HarnessError(f"the browser session is gone: {_first_line(e)}") from None
        except WebDriverException as e:
            if any(s in str(e) for s in ("disconnected", "session deleted", "chrome not reachable", "crashed")):
                raise HarnessError(f"the browser died: {_first_line(e)}") from None
            raise

    def follow(self, element, action: str) -> dict | None:
        """Click a link that leads to a new document; returns when that document has loaded."""
        return self.navigate(element.click, action)

    def navigate(self, act, action: str) -> dict | None:
        """Do something that loads a new document (click, Enter in a form); wait for it, then record it."""
        with self.alive():
            old = self.driver.find_element("css selector", "html")
            before = self.url
            act()
            self.wait(2).until(lambda d: _gone(old), f"{action}: the browser did not leave {before}")
        return self.page_loaded(action)

    def page_loaded(self, action: str) -> dict | None:
        """Wait for the load event, record the action's Navigation Timing, fail on console errors."""
        with self.alive():
            timing = self.wait(2).until(lambda d: d.execute_script(NAV_TIMING_JS), f"{action} page never loaded")
        record = {"action": action, "ttfb_ms": round(timing["ttfb_ms"], 2), "dcl_ms": round(timing["dcl_ms"], 2),
                  "load_ms": round(timing["load_ms"], 2), "status": timing["status"], "url": redact(self.url),
                  "t": round(time.time(), 3)}
        self.timings.append(record)
        if self.timings_path is not None:
            with open(self.timings_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        self.check_console()
        return record

    def console_entries(self) -> list[dict]:
        """Drain the browser console (Chromium hands each entry out once)."""
        try:
            if hasattr(self.driver, "get_log"):
                entries = self.driver.get_log("browser")
            else:
                entries = self.driver.execute("getLog", {"type": "browser"})["value"]
        except Exception:  # a Grid node may not expose logs: then the check cannot run, it does not fail
            return []
        self.console += entries
        return entries

    def check_console(self, failed_request: str | None = None) -> None:
        """Fail on a SEVERE console entry from a script (uncaught error, console.error); with failed_request=URL
        also on that request failing (other failed requests, a missing favicon, are the browser's business)."""
        for e in self.console_entries():
            if e.get("level") != "SEVERE":
                continue
            message = e.get("message", "")
            if failed_request and e.get("source") == "network" and failed_request in message:
                raise AssertionError(f"request failed on {self.url}: {message[:300]}")
            if e.get("source") == "network" and self._own_resource(message):
                raise AssertionError(f"a resource of {self.url} failed to load: {redact(message[:300])}")
            if e.get("source") == "security":  # a style sheet or script refused (MIME type, CSP)
                raise AssertionError(f"the browser refused part of {self.url}: {redact(message[:300])}")
            if e.get("source") in JS_SOURCES and not self.allow_js_errors:
                raise JavaScriptError(f"JavaScript error on {self.url}: {message[:300]} "
                                      "(set allow_js_errors for this target to accept it)")

    def _own_resource(self, message: str) -> bool:
        """A console network error about a resource of the target's own site (a style sheet, script, image or
        XHR the page needs). Other sites' resources (an avatar service, offline here) and the favicon that
        browsers ask for unprompted are not the page's failure."""
        url = message.split(" ", 1)[0]
        base = getattr(self.target, "url", None)
        if not base or not url.startswith(("http://", "https://")):
            return False
        mine, theirs = urllib.parse.urlsplit(base), urllib.parse.urlsplit(url)
        if (mine.scheme, mine.netloc) != (theirs.scheme, theirs.netloc) or theirs.path.endswith("/favicon.ico"):
            return False
        known = getattr(getattr(self.target, "site", None), "KNOWN_MISSING_RESOURCES", {})
        if any(part in theirs.path for part in known):  # a defect of the site software itself
            return False
        try:  # the document itself answering 404 or 403 is for the flow to judge (a private repository)
            return url.split("#", 1)[0] != self.url.split("#", 1)[0]
        except Exception:
            return True

    def reset(self) -> None:
        """Between tests: forget the previous test's console, so artifacts show only this test's."""
        self.console_entries()
        self.console = []

    # --- artifacts, called by the root conftest when a test fails ---
    def hgharness_artifacts(self, dest_dir) -> list[Path]:
        dest = Path(dest_dir)
        saved = []
        try:
            url = self.url
        except Exception as e:
            url = f"(no URL: {type(e).__name__})"
        (dest / "url.txt").write_text(redact(url) + "\n")
        saved.append(dest / "url.txt")
        png = dest / "screenshot.png"
        if self.driver.save_screenshot(str(png)):
            saved.append(png)
        html = dest / "page.html"
        html.write_text(redact(self.driver.page_source), encoding="utf-8")
        saved.append(html)
        self.console_entries()
        log = dest / "console.log"
        log.write_text("".join(f"{e.get('level')} {e.get('source', '')} {redact(e.get('message', ''))}\n"
                               for e in self.console) or "(console empty)\n")
        saved.append(log)
        return saved

    def quit(self) -> None:
        if self._quit:
            return
        self._quit = True
        process = getattr(getattr(self.driver, "service", None), "process", None)
        try:
            self.driver.quit()
        except Exception:  # a dead browser cannot say goodbye; its process group goes anyway
            pass
        finally:
            if process is not None:
                _signal_group(process.pid, signal.SIGKILL)
            for d in (self.tmp, *self.extra_dirs):
                shutil.rmtree(d, ignore_errors=True)
