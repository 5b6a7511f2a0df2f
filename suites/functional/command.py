"""Run the browser flows (suites/functional) against a target, in headless Chromium or a remote WebDriver.

Same target options and exit codes as `run`, limited to the functional stage (-n 2 by default: one browser
per worker). Local Chromium needs Debian's chromium and chromium-driver (`apt-get install chromium
chromium-driver`); Selenium Manager is never used. With --selenium-remote URL (or HGHARNESS_SELENIUM_REMOTE)
the flows drive a W3C Remote WebDriver or Selenium Grid instead. Failure artifacts (screenshot, page HTML,
console log, URL) and page timings go into the run directory.
"""

from __future__ import annotations

import os

from hgharness.commands import run as run_cmd


def add_arguments(p):
    run_cmd.add_arguments(p)
    p.set_defaults(stages="functional")
    g = p.add_argument_group("browser")
    g.add_argument("--selenium-remote", metavar="URL", default=os.environ.get("HGHARNESS_SELENIUM_REMOTE"),
                   help="W3C Remote WebDriver / Selenium Grid URL (env HGHARNESS_SELENIUM_REMOTE; "
                        "default: local headless Chromium)")
    g.add_argument("--browser-window", metavar="WxH", help="window size (env HGHARNESS_BROWSER_WINDOW; 1280x900)")
    g.add_argument("--browser-timeout", metavar="SECONDS",
                   help="base timeout every wait scales (env HGHARNESS_BROWSER_TIMEOUT; default 15)")


def main(args) -> int:
    from hgharness.browser import BrowserConfig, preflight

    for option, env in (("browser_window", "HGHARNESS_BROWSER_WINDOW"), ("browser_timeout", "HGHARNESS_BROWSER_TIMEOUT")):
        if getattr(args, option, None):
            os.environ[env] = str(getattr(args, option))
    # before starting any server: no browser is a one-line harness error (exit 2)
    preflight(BrowserConfig.from_env(remote=args.selenium_remote))
    args.stages = "functional"
    return run_cmd.main(args)
