"""Serve a run directory on loopback to look at it in a browser: `hgharness report serve RUN_DIR`."""

from __future__ import annotations

import functools
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hgharness.errors import HarnessError

REPORT_PAGES = {"/", "/index.html", "/compare.html"}


class RunDirHandler(SimpleHTTPRequestHandler):
    def end_headers(self):
        # Artifacts include pages captured from the target, whose scripts are hostile until proven otherwise:
        # everything but the harness's own reports is served in a CSP sandbox (an opaque origin, no scripts).
        if urllib.parse.urlsplit(self.path).path not in REPORT_PAGES:
            self.send_header("Content-Security-Policy", "sandbox")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # one short line per request, not the default's noise
        pass


def make_server(run_dir: Path, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    handler = functools.partial(RunDirHandler, directory=str(Path(run_dir).resolve()))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise HarnessError(f"cannot listen on {host}:{port}: {e.strerror}") from None


def serve(run_dir: Path, port: int = 8008, host: str = "127.0.0.1") -> None:
    server = make_server(run_dir, port, host)
    url = f"http://{host}:{server.server_address[1]}/"
    print(f"serving {run_dir} at {url}", flush=True)
    print("Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()
