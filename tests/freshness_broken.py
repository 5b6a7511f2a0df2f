"""Broken targets that only the freshness checks catch (suites/headless/test_freshness.py): WSGI wraps of the
embedded hgweb, each keeping ONE view stale after a write, or telling caches they may.

Used as EmbeddedHgweb(wrap="tests.freshness_broken:NAME"), as tests/broken_targets.py's builds are. A frozen
view answers, for ever, what it answered the first time it was asked (per URL): a cache no write invalidates.
The cache lives in the server's work directory, shared by every gunicorn worker, and goes with the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from tests.broken_targets import answer


def _store(name: str) -> str:
    path = os.path.join(os.path.dirname(os.environ["HGHARNESS_HGWEB_CONFIG"]), name)
    os.makedirs(path, exist_ok=True)
    return path


def _frozen(app, matches):
    """Answers to GET requests whose path and query match keep their first 200 answer (status, headers, body)."""
    store = _store("frozen-views")

    def wrapped(environ, start_response):
        where = f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
        if environ.get("REQUEST_METHOD") != "GET" or not matches(where):
            return app(environ, start_response)
        path = os.path.join(store, hashlib.sha1(where.encode()).hexdigest())
        if not os.path.exists(path):
            environ = {k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}
            status, headers, body = answer(app, environ)
            if not status.startswith("200"):
                start_response(status, headers)
                return [body]
            with open(path + ".tmp", "w") as f:
                json.dump({"status": status, "headers": headers, "body": body.decode("latin-1")}, f)
            os.replace(path + ".tmp", path)
        with open(path) as f:
            saved = json.load(f)
        body = saved["body"].encode("latin-1")
        headers = [(k, v) for k, v in saved["headers"] if k.lower() not in ("content-length", "etag")]
        start_response(saved["status"], headers + [("Content-Length", str(len(body)))])
        return [body]
    return wrapped


def json_tags_frozen(app):
    """json-tags keeps its first answer: a tag pushed later never appears in it."""
    return _frozen(app, lambda where: where.split("?", 1)[0].endswith("/json-tags"))


def bookmarks_page_frozen(app):
    """The bookmarks page keeps its first answer: a bookmark moved later stays where it was."""
    return _frozen(app, lambda where: where.split("?", 1)[0].endswith("/bookmarks"))


def branchmap_frozen(app):
    """The wire protocol's branchmap keeps its first answer (`hg pull -b`, push's new-head checks go wrong)."""
    return _frozen(app, lambda where: "cmd=branchmap" in where)


def listkeys_frozen(app):
    """The wire protocol's bookmarks (listkeys) keep their first answer: clients pull old bookmark positions."""
    return _frozen(app, lambda where: "cmd=listkeys" in where and "namespace=bookmarks" in where)


def feeds_frozen(app):
    """The atom and rss feeds keep their first answer (Kallithea 0.7.0 does so, a known issue of its adapter;
    hgweb declares none)."""
    return _frozen(app, lambda where: re.search(r"/(atom|rss)-log$", where.split("?", 1)[0]) is not None)


def etag_replayed(app):
    """Any ETag the site ever gave is answered with 304 Not Modified: after a push, a browser revalidating the
    history it had keeps it (each answer still carries the site's own, changing, ETag). test_wire's
    test_push_then_pull_sees_new_head, which revalidates the shortlog after its push, catches it too."""
    store = _store("issued-etags")

    def wrapped(environ, start_response):
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if sent and os.path.exists(os.path.join(store, hashlib.sha1(sent.encode()).hexdigest())):
            start_response("304 Not Modified", [("ETag", sent)])
            return [b""]

        def remember(status, headers, exc_info=None):
            for k, v in headers:
                if k.lower() == "etag":
                    open(os.path.join(store, hashlib.sha1(v.encode()).hexdigest()), "w").close()
            return start_response(status, headers, exc_info)
        return app(environ, remember)
    return wrapped


def history_max_age(app):
    """History pages tell caches to keep them for five minutes: after a push, browsers and proxies show the old
    history for that long without asking."""
    def wrapped(environ, start_response):
        if not re.search(r"/(log|shortlog|graph)$", environ.get("PATH_INFO", "")):
            return app(environ, start_response)

        def with_lifetime(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            return start_response(status, headers + [("Cache-Control", "public, max-age=300")], exc_info)
        return app(environ, with_lifetime)
    return wrapped


def _repo_dir(environ) -> str | None:
    """The served repository a request is for (hgwebdir serves `/ = DIR/*`)."""
    with open(os.environ["HGHARNESS_HGWEB_CONFIG"]) as f:
        base = next(line.split("=", 1)[1].strip()[:-2] for line in f if line.startswith("/ = "))
    name = environ.get("PATH_INFO", "").strip("/").split("/", 1)[0]
    path = os.path.join(base, name)
    return path if name and os.path.isdir(os.path.join(path, ".hg")) else None


def etag_ignores_bookmarks(app):
    """The ETag stands for the changelog alone (its size): a bookmark move keeps it, and the site answers 304 to
    it, so a browser revalidating the bookmarks page keeps the old positions (what hgweb's own repository cache
    guards against by watching the bookmarks file too)."""
    def wrapped(environ, start_response):
        repo = _repo_dir(environ)
        if repo is None or "cmd=" in environ.get("QUERY_STRING", "") or environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        tag = f'W/"cl-{os.path.getsize(os.path.join(repo, ".hg", "store", "00changelog.i"))}"'
        if environ.get("HTTP_IF_NONE_MATCH") == tag:
            start_response("304 Not Modified", [("ETag", tag)])
            return [b""]
        environ = {k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}

        def with_tag(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "etag"]
            return start_response(status, headers + [("ETag", tag)], exc_info)
        return app(environ, with_tag)
    return wrapped
