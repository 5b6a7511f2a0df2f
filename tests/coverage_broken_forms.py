"""Broken targets for the oracles of test_data_forms (#18's gaps): each gets ONE form of a file's diff, annotate,
comparison or content, of the top listing, of the history or of a front page wrong, where the default form
(checked by test_pages, test_repo_pages, test_json_feeds) stays right. Every wrap touches its own requests only
(its command and style), so tests/coverage_broken.py:every_defect can stack them all on one target.
"""

from __future__ import annotations

import re
import urllib.parse

from tests.broken_targets import _ok, _path, _rewrite

HTML = ("coal", "gitweb", "monoblue", "spartan")


def _style(environ) -> str:
    return urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("style", [""])[0]


def _cmd(environ) -> str:
    """hgweb's web command of a request: the path segment after the repository (hgwebdir: /REPO/CMD/...)."""
    parts = _path(environ).strip("/").split("/")
    return parts[1] if len(parts) > 1 else ""


def _wrap(cmd: str, style: str, edit_body):
    """A wrap that edits the body of `cmd` in `style` (cmd '' : the repository's front page; '/': the index)."""
    def wrap(app):
        def edit(status, headers, body, environ):
            return (status, headers, edit_body(body)) if _ok(status) else (status, headers, body)

        def which(e):
            if cmd == "/":
                return _path(e).strip("/") == "" and _style(e) == style
            return _cmd(e) == cmd and _style(e) == style and _path(e).strip("/") != ""
        return _rewrite(app, which, edit)
    return wrap


def _last(pattern: bytes, repl, body: bytes, flags=0) -> bytes:
    found = list(re.finditer(pattern, body, flags))
    if not found:
        return body
    m = found[-1]
    return body[:m.start()] + m.expand(repl) + body[m.end():]


def _first(pattern: bytes, repl, body: bytes, flags=0) -> bytes:
    return re.sub(pattern, repl, body, count=1, flags=flags)


# --- edits ------------------------------------------------------------------------------------------------------

def html_diff_drops_added_text(body):  # the last added line of an HTML diff is shown empty
    return _last(rb'(class="(?:plusline|difflineplus)"[^>]*>(?:<a [^>]*>[^<]*</a>)?\+)[^<\n]+', rb"\1", body)


def html_comparison_drops_insert(body):  # the last inserted line of a comparison is shown empty
    return _last(rb'(<td class="(?:source )?insert">(?:<pre>)?<a [^>]*>\s*\d+</a>)[^<]+', rb"\1 ", body)


def raw_diff_drops_line(body):
    return _last(rb"\n[+-](?![+-]{2} )[^\n]*", b"", body)


def json_drops_last_diff_line(body):
    return _last(rb',\s*\{\s*"t": "[+-]",\s*"n": \d+,\s*"l": "(?![+-]{3} )[^"]*"\s*\}', b"", body)


def json_comparison_wrong_right_line(body):
    return _last(rb'("rl": ")[^"]+"', rb'\1changed"', body)


def json_file_drops_last_line(body):
    return _last(rb',\s*\{\s*"line": "[^"]*"\s*\}', b"", body)


def json_annotate_wrong_node(body):
    return _first(rb'("annotate": \[\{\s*"node": ")[0-9a-f]{40}', rb"\g<1>" + b"0" * 40, body)


def raw_annotate_drops_text(body):
    return _last(rb"(\n[^\n:]+@\d+: )[^\n]+", rb"\1", body)


def html_listing_renames_entry(style):
    def edit(body):
        m = re.search(rb'/file/[0-9a-f]{12,40}/([^"/?]+)\?style=' + style.encode() + b'"', body)
        if not m:
            return body
        name = m.group(1)
        return re.sub(rb"(/file/[0-9a-f]{12,40}/)" + re.escape(name) + rb"(\?style=)", rb"\1" + name + rb".orig\2",
                      body)
    return edit


def json_manifest_renames_file(body):
    return _last(rb'("basename": ")([^"]+)"', rb'\1\2.orig"', body)


def raw_manifest_drops_file(body):
    return _last(rb"\n-[rwx-]{9} [^\n]*", b"", body)


def raw_history_repeats_first(body):  # the second changeset line gives the first's node
    nodes = re.findall(rb"\nchangeset: +([0-9a-f]{12,40})", body)
    if len(nodes) < 2:
        return body
    return body.replace(b"changeset:   " + nodes[1], b"changeset:   " + nodes[0], 1)


def json_graph_wrong_first_node(body):
    return _first(rb'("changesets": \[\{\s*"node": ")[0-9a-f]{40}', rb"\g<1>" + b"0" * 40, body)


def html_summary_first_link_older(style):
    def edit(body):
        links = re.findall(rb'/rev/([0-9a-f]{12})\?style=' + style.encode(), body)
        older = [n for n in links if n != links[0]] if links else []
        return body.replace(b"/rev/" + links[0] + b"?", b"/rev/" + older[-1] + b"?", 1) if older else body
    return edit


def json_summary_wrong_first_node(body):
    return _first(rb'("shortlog": \[\{\s*"node": ")[0-9a-f]{40}', rb"\g<1>" + b"0" * 40, body)


def html_index_moves_repositories(body):
    return re.sub(rb'href="/(?!static/)([^"/?]+)/(\?style=[a-z]+)?"', rb'href="/\1-moved/\2"', body)


def raw_index_drops_entries(body):
    return b""


# --- the wraps: name -> (command, style, edit), and what the check says -------------------------------------------

FORMS = {
    **{f"{s}_diff_drops_added_text": ("diff", s, html_diff_drops_added_text) for s in HTML},
    "raw_diff_drops_line": ("diff", "raw", raw_diff_drops_line),
    "json_diff_drops_line": ("diff", "json", json_drops_last_diff_line),
    **{f"{s}_comparison_drops_insert": ("comparison", s, html_comparison_drops_insert)
       for s in ("coal", "gitweb", "monoblue")},
    "json_comparison_wrong_line": ("comparison", "json", json_comparison_wrong_right_line),
    "json_file_drops_line": ("file", "json", json_file_drops_last_line),
    "json_annotate_wrong_node": ("annotate", "json", json_annotate_wrong_node),
    "raw_annotate_drops_text": ("annotate", "raw", raw_annotate_drops_text),
    **{f"{s}_listing_renames_entry": ("file", s, html_listing_renames_entry(s)) for s in HTML},
    "json_manifest_renames_file": ("file", "json", json_manifest_renames_file),
    "raw_manifest_drops_file": ("file", "raw", raw_manifest_drops_file),
    "raw_log_repeats_first": ("log", "raw", raw_history_repeats_first),
    "raw_graph_repeats_first": ("graph", "raw", raw_history_repeats_first),
    "json_graph_wrong_node": ("graph", "json", json_graph_wrong_first_node),
    **{f"{s}_summary_links_older": ("", s, html_summary_first_link_older(s)) for s in ("gitweb", "monoblue")},
    "json_summary_wrong_node": ("summary", "json", json_summary_wrong_first_node),
    **{f"{s}_index_moves_repositories": ("/", s, html_index_moves_repositories) for s in HTML},
    "raw_index_drops_entries": ("/", "raw", raw_index_drops_entries),
}

H, D, L = "test_file_diff_in_every_style[", "test_file_data_in_every_form[", "test_listing_in_every_form["
G, S, X = "test_history_data_in_every_form[", "test_summary_in_every_form[", "test_index_in_every_form["
EXPECTED = {  # defect -> (the failing check's id part, a part of its message)
    **{f"{s}_diff_drops_added_text": (H, f"{s} diff page lacks line") for s in HTML},
    "raw_diff_drops_line": (D, "raw diff has"),
    "json_diff_drops_line": (D, "json diff has"),
    **{f"{s}_comparison_drops_insert": (H, f"{s} comparison page lacks added line") for s in ("coal", "gitweb",
                                                                                                 "monoblue")},
    "json_comparison_wrong_line": (D, "json comparison has"),
    "json_file_drops_line": (D, "json file has"),
    "json_annotate_wrong_node": (D, "json annotate gives line 1 changeset 000000000000"),
    "raw_annotate_drops_text": (D, "raw annotate's lines differ"),
    **{f"{s}_listing_renames_entry": (L, f"{s} listing links files") for s in HTML},
    "json_manifest_renames_file": (L, "json manifest lists"),
    "raw_manifest_drops_file": (L, "raw manifest lists"),
    "raw_log_repeats_first": (G, "raw log lists"),
    "raw_graph_repeats_first": (G, "raw graph lists"),
    "json_graph_wrong_node": (G, "json graph lists"),
    **{f"{s}_summary_links_older": (S, f"{s} summary links") for s in ("gitweb", "monoblue")},
    "json_summary_wrong_node": (S, "json summary lists"),
    **{f"{s}_index_moves_repositories": (X, f"{s} index does not link") for s in HTML},
    "raw_index_drops_entries": (X, "raw index does not list"),
}


def form_wrap(name: str):
    cmd, style, edit = FORMS[name]
    return _wrap(cmd, style, edit)
