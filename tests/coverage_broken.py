"""Broken targets for the oracles of test_representations (issue #18): each injects ONE defect into one form of
data that another form (checked before) still gives right, so only the new oracle catches it.

Used as EmbeddedHgweb(wrap="tests.coverage_broken:NAME") (tests/test_coverage_broken.py); `app` is the embedded
application. The plumbing is tests/broken_targets.py's.
"""

from __future__ import annotations

import re
import urllib.parse

from tests.broken_targets import _ok, _path, _rewrite


def _style(environ) -> str:
    return urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("style", [""])[0]


def _cmd(environ) -> str:
    return urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("cmd", [""])[0]


def gitweb_rev_other_file(app):
    """The gitweb changeset page links its first file under another name (paper's page stays right)."""
    def edit(status, headers, body, environ):
        m = re.search(rb'href="(/[^"]*/diff/[0-9a-f]{12}/)([^"?]+)\?style=gitweb"', body)
        if not _ok(status) or not m:
            return status, headers, body
        name = m.group(2)
        return status, headers, body.replace(b"/" + name + b"?style=gitweb", b"/" + name + b".orig?style=gitweb")
    return _rewrite(app, lambda e: "/rev/" in _path(e) and _style(e) == "gitweb", edit)


def raw_rev_truncated_diff(app):
    """raw-rev loses the last changed line of its patch (its header, files and description stay)."""
    def edit(status, headers, body, environ):
        lines = body.split(b"\n")
        last = max((i for i, ln in enumerate(lines) if ln[:1] in (b"+", b"-") and not ln.startswith((b"+++", b"---"))),
                   default=None)
        if _ok(status) and last is not None:
            del lines[last]
        return status, headers, b"\n".join(lines)
    return _rewrite(app, lambda e: "/raw-rev/" in _path(e), edit)


def json_rev_diff_drops_line(app):
    """json-rev's diff loses its last changed line (its file list stays right)."""
    def edit(status, headers, body, environ):
        entries = list(re.finditer(rb'\{\s*"t": "[+-]",\s*"n": \d+,\s*"l": "(?![+-]{3} )[^"]*"\s*\}', body))
        if not _ok(status) or not entries:
            return status, headers, body
        m = entries[-1]
        if body[m.start() - 2:m.start()] == b", ":  # an entry after another: its separator goes with it
            return status, headers, body[:m.start() - 2] + body[m.end():]
        return status, headers, body
    return _rewrite(app, lambda e: "/json-rev/" in _path(e), edit)


def atom_entry_drops_file(app):
    """The atom feed's entries list all files but the first (their order, ids and links stay right)."""
    def edit(status, headers, body, environ):
        return status, headers, re.sub(rb'(files</th>\s*<td>)[^<]*<br />', rb"\1", body)
    return _rewrite(app, lambda e: "/atom-log" in _path(e), edit)


def getbundle_ignores_common(app):
    """getbundle sends every ancestor of the heads asked, whatever the client says it has (a clone and a pull
    still end right: the client drops what it has)."""
    def wrapped(environ, start_response):
        if _cmd(environ) == "getbundle":
            keys = sorted((k for k in environ if k.startswith("HTTP_X_HGARG_")), key=lambda k: int(k.rsplit("_", 1)[1]))
            args = urllib.parse.parse_qsl("".join(environ.pop(k) for k in keys), keep_blank_values=True)
            environ["HTTP_X_HGARG_1"] = urllib.parse.urlencode([(k, v) for k, v in args if k != "common"])
        return app(environ, start_response)
    return wrapped


def lookup_tag_wrong_node(app):
    """`lookup` of a name that is not tip answers the tip (lookup of tip stays right)."""
    def wrapped(environ, start_response):
        if _cmd(environ) == "lookup":
            keys = sorted((k for k in environ if k.startswith("HTTP_X_HGARG_")), key=lambda k: int(k.rsplit("_", 1)[1]))
            args = dict(urllib.parse.parse_qsl("".join(environ[k] for k in keys)))
            if args.get("key") not in (None, "tip") and not re.fullmatch(r"[0-9a-f]{40}", args.get("key", "")):
                for k in keys:
                    environ.pop(k)
                environ["HTTP_X_HGARG_1"] = urllib.parse.urlencode({"key": "tip"})
        return app(environ, start_response)
    return wrapped


def archive_ignores_file_filter(app):
    """An archive asked for one file (?file=PATH) holds every file of the revision."""
    def wrapped(environ, start_response):
        if "/archive/" in _path(environ):
            query = [(k, v) for k, v in urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")) if k != "file"]
            environ["QUERY_STRING"] = urllib.parse.urlencode(query)
        return app(environ, start_response)
    return wrapped


def raw_tags_wrong_node(app):
    """raw-style tags (tags?style=raw) give every tag but tip the node of tip."""
    def edit(status, headers, body, environ):
        lines = body.split(b"\n")
        tip = next((ln.split(b"\t")[1] for ln in lines if ln.startswith(b"tip\t")), None)
        if not _ok(status) or tip is None:
            return status, headers, body
        return status, headers, b"\n".join(ln if ln.startswith(b"tip\t") or b"\t" not in ln
                                           else ln.split(b"\t")[0] + b"\t" + tip for ln in lines)
    return _rewrite(app, lambda e: _path(e).endswith("/tags") and _style(e) == "raw", edit)


def gitweb_file_drops_line(app):
    """The gitweb file page loses the last line of the file (paper's file page stays right)."""
    def edit(status, headers, body, environ):
        rows = list(re.finditer(rb'<a href="#l\d+"></a><span id="l\d+">[^\n]*</span>\n', body))
        if not _ok(status) or not rows:
            return status, headers, body
        m = rows[-1]
        return status, headers, body[:m.start()] + body[m.end():]
    return _rewrite(app, lambda e: "/file/" in _path(e) and _style(e) == "gitweb", edit)


def gitweb_shortlog_skips_entry(app):
    """gitweb's shortlog leaves out its second entry (paper's shortlog, json-log and the feeds stay right)."""
    def edit(status, headers, body, environ):
        rows = list(re.finditer(rb'<tr class="parity\d">.*?</tr>\n', body, re.S))
        if not _ok(status) or len(rows) < 2:
            return status, headers, body
        return status, headers, body[:rows[1].start()] + body[rows[1].end():]
    return _rewrite(app, lambda e: _path(e).endswith("/shortlog") and _style(e) == "gitweb", edit)


DEFECTS = ("gitweb_rev_other_file", "raw_rev_truncated_diff", "json_rev_diff_drops_line", "atom_entry_drops_file",
           "getbundle_ignores_common", "lookup_tag_wrong_node", "archive_ignores_file_filter", "raw_tags_wrong_node",
           "gitweb_file_drops_line", "gitweb_shortlog_skips_entry")


def every_defect(app):
    """All the defects above, and those of tests/coverage_broken_forms.py, at once: each touches requests none of
    the others does."""
    from tests.coverage_broken_forms import FORMS, form_wrap

    for name in DEFECTS:
        app = globals()[name](app)
    for name in FORMS:
        app = form_wrap(name)(app)
    return app
