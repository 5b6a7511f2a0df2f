"""Broken Kallithea builds: a proxy on loopback in front of the shared embedded Kallithea, rewriting the answers
of one kind of request each (Kallithea runs in its own Python 3.8 venv under waitress, so the hgweb way of
wrapping its WSGI application in the test's process is not open). Every request is forwarded as it came (its raw
path, its headers, the client's Host, so that the links and redirects Kallithea builds lead back to the proxy);
only the selected answers are edited.

DEFECTS: name -> (when(path, query), edit(status, headers, body) -> body). Each injects ONE defect into one
view, the same data other views (checked before) still give right; none breaks a link, so only the view's own
oracle can tell. tests/test_kallithea_broken.py runs them.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
       "content-length"}
UPSTREAM_TIMEOUT = 120


def _json_edit(change):
    def edit(status, headers, body):
        data = json.loads(body)
        change(data)
        return json.dumps(data).encode()
    return edit


def _drop_last(pattern: bytes, flags=0):
    def edit(status, headers, body):
        found = list(re.finditer(pattern, body, flags))
        return body if not found else body[:found[-1].start()] + body[found[-1].end():]
    return edit


def _children(data):
    data["results"] = data.get("results", [])[:-1]


def _info(data):
    data["author"] = "Someone Else <someone@example.org>"


def _nodelist(data):
    files = [n for n in data["nodes"] if n.get("type") == "file"]
    data["nodes"].remove(files[-1])


def _history(data):
    for group in data["results"]:
        if group.get("text") == "Changesets" and len(group["children"]) > 1:
            group["children"].pop()


def _switcher(data):
    for group in data["results"]:
        if group.get("text") == "Repositories":
            group["children"] = []


def _details(status, headers, body):
    return re.sub(rb'(<span class="changed" [^\n]*?">)(\d+)<', lambda m: m.group(1) + str(int(m.group(2)) + 1).encode()
                  + b"<", body, count=1)


def _rev_counts(status, headers, body):
    return re.sub(rb'(title="Changed">)(\d+)<', lambda m: m.group(1) + str(int(m.group(2)) + 1).encode() + b"<",
                  body, count=1)


def _authors(status, headers, body):
    found = list(re.finditer(rb'<span data-toggle="tooltip" title="([^"]*)">', body))
    if not found:
        return body
    m = found[-1]
    return body[:m.start(1)] + b"Nobody At All" + body[m.end(1):]


def _drop_patch_line(status, headers, body):
    lines = body.split(b"\n")
    last = max((i for i, ln in enumerate(lines) if ln[:1] in (b"+", b"-") and not ln.startswith((b"+++", b"---"))),
               default=None)
    return body if last is None else b"\n".join(lines[:last] + lines[last + 1:])


def _drop_patch_file(status, headers, body):
    starts = [m.start() for m in re.finditer(rb"^diff --git ", body, re.M)]
    return body if not starts else body[:starts[-1]]


def _two_way(status, headers, body):
    m = re.search(rb'var orig1_url = \("([^"]+)"\)', body)
    return body if not m else re.sub(rb'(var orig2_url = \(")[^"]+("\))', lambda x: x.group(1) + m.group(1)
                                     + x.group(2), body)


def _root_entry(status, headers, body):
    """The last top-level entry links the root (a page that exists) instead of itself."""
    found = list(re.finditer(rb'href="(/[^"]*/files/[0-9a-f]{40}/)([^"/]+)"', body))
    if not found:
        return body
    m = found[-1]
    return body[:m.start(2)] + body[m.end(2):]


def _summary_stale(status, headers, body):
    """The latest changes start one changeset late: the newest one's links lead to the next."""
    nodes = list(dict.fromkeys(re.findall(rb"/changeset/([0-9a-f]{40})", body)))
    return body if len(nodes) < 2 else body.replace(b"/changeset/" + nodes[0], b"/changeset/" + nodes[1])


def _in(fragment: str, tail: str | None = None):
    def when(path, query):
        return fragment in path and (tail is None or re.search(tail, path) is not None)
    return when


DEFECTS = {
    "children_drops_child": (_in("/changeset_children/"), _json_edit(_children)),
    "info_wrong_author": (_in("/changeset_info/"), _json_edit(_info)),
    "changelog_details_miscounts": (_in("/changelog_details/"), _details),
    "nodelist_drops_file": (_in("/nodelist/"), _json_edit(_nodelist)),
    "file_history_drops_changeset": (_in("/history/"), _json_edit(_history)),
    "file_authors_wrong_name": (_in("/authors/"), _authors),
    "switcher_drops_repository": (lambda path, query: path == "/_repos", _json_edit(_switcher)),
    "download_drops_line": (_in("/changeset-download/"), _drop_patch_line),
    "raw_changeset_drops_file": (_in("/raw-changeset/"), _drop_patch_file),
    "compare_drops_changeset": (_in("/compare/rev@"), _drop_last(rb'<tr id="chg_\d+".*?</tr>', re.S)),
    "file_diff_drops_line": (_in("/diff/"), _drop_last(rb'<tr class="line (?:add|del)">.*?</tr>', re.S)),
    "two_way_loads_one_side_twice": (_in("/diff-2way/"), _two_way),
    "files_root_links_elsewhere": (_in("/files/", r"/files/[0-9a-f]{40}$"), _root_entry),
    "summary_page_stale": (lambda path, query: path.endswith("/summary"), _summary_stale),
    "changeset_page_miscounts": (_in("/changeset/"), _rev_counts),
}


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]
    defects: list

    def log_message(self, fmt, *args):  # quiet: the test reads results, not access logs
        pass

    def _forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            status, reason, out_headers, data = r.status, r.reason, r.getheaders(), r.read()
        finally:
            conn.close()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if status == 200:
            for when, edit in self.defects:
                if when(path, split.query):
                    data = edit(status, out_headers, data)
        self.send_response(status, reason)
        for k, v in out_headers:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _forward


@contextmanager
def broken_kallithea(server, names, **target):
    """A proxy in front of the embedded Kallithea `server` with the defects `names`; yields its Target (with the
    `target` overrides: repos=[...] to check fewer repositories)."""
    up = urllib.parse.urlsplit(server.url)
    handler = type("Handler", (_Proxy,), {"upstream": (up.hostname, up.port),
                                          "defects": [DEFECTS[n] for n in names]})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="kallithea-broken-proxy", daemon=True)
    thread.start()
    try:
        yield server.target(url=f"http://127.0.0.1:{httpd.server_address[1]}{up.path or '/'}", **target)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(30)
