"""Access-log lines and what each request was, in the harness's action names (for `hgharness load derive`).

Formats (one compiled regular expression each; --format picks one, else the one that parses most of a file's
first lines):

    combined   nginx's and Apache's "combined", gunicorn's default access_log_format (the same fields):
               ADDR IDENT USER [10/Oct/2025:13:55:36 +0200] "GET /path?q HTTP/1.1" 200 2326 "REFERER" "AGENT"
               ("common": the same without referer and agent)
    haproxy    HAProxy's HTTP log (option httplog), with or without the syslog prefix; the user agent is the
               first captured request header block {..} when the configuration captures one
               ADDR:PORT [10/Oct/2025:13:55:36.655] FRONT BACK/SRV TR/Tw/Tc/Tr/Ta 200 2750 - - ---- 1/1/1/1/0 0/0
               {AGENT} "GET /path HTTP/1.1"

A request is classified by its path alone into an action of load/catalog.py (index, log, changeset, file,
raw_file, archive, json_log, atom_log, ...), a wire-protocol command ("hg:capabilities", "hg:getbundle",
"hg:unbundle", ...: clone, pull and push are made of them), or something load does not replay ("static",
"other", "not_found"). hgweb's and Kallithea's URL layouts are both known; kinds the catalog has no URLs for are
mapped onto their nearest action (rss-log -> atom_log, diff -> changeset, bookmarks -> tags, filelog -> log).
"""

from __future__ import annotations

import calendar
import gzip
import re
import zlib
from pathlib import Path

from hgharness.errors import HarnessError

FORMATS = ("combined", "haproxy")
# names a user may know the format by -> the regular expression that reads it
FORMAT_ALIASES = {"auto": None, "combined": "combined", "nginx": "combined", "apache": "combined",
                  "gunicorn": "combined", "common": "combined", "haproxy": "haproxy"}

_COMBINED = re.compile(
    r'(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S*)[^"]*" (\d{3}) (\d+|-)(?: "[^"]*" "([^"]*)")?')
_HAPROXY = re.compile(
    r'(?:.*?\]: )?(\S+):\d+ \[([^\]]+)\] \S+ \S+ \S+ (-?\d+) \+?(\d+) \S+ \S+ \S+ \S+ \S+ '
    r'(?:\{([^}]*)\} )?(?:\{[^}]*\} )?"(\S+) (\S*)')
# each format's groups, in the order every reader uses: address, time, method, target, status, bytes, agent
REGEXES = {"combined": (_COMBINED, (1, 2, 3, 4, 5, 6, 7)), "haproxy": (_HAPROXY, (1, 2, 6, 7, 3, 4, 5))}

MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                      "Dec"), 1)}
DETECT_LINES = 200
SLOTS = 96                   # the daily curve: quarter hours
SLOT_S = 86400 // SLOTS

# Mercurial's wire-protocol commands (any other cmd= value is "hg:other": nothing from a query is kept)
WIRE_COMMANDS = frozenset((
    "batch", "between", "branches", "branchmap", "capabilities", "changegroup", "changegroupsubset",
    "clonebundles", "clonebundles_manifest", "debugwireargs", "getbundle", "heads", "hello", "known",
    "listkeys", "lookup", "protocaps", "pushkey", "stream_out", "unbundle", "filelog", "narrow_widen",
))

# a path segment -> the action it names (hgweb and Kallithea); the segments before it name the repository
KEYWORDS = {
    # hgweb
    "log": "log", "shortlog": "shortlog", "changelog": "log", "filelog": "log", "graph": "graph",
    "rev": "changeset", "changeset": "changeset", "raw-rev": "changeset", "diff": "changeset",
    "comparison": "changeset", "file": "file", "raw-file": "raw_file", "annotate": "annotate",
    "archive": "archive", "branches": "branches", "tags": "tags", "bookmarks": "tags", "summary": "summary",
    "search": "log", "atom-log": "atom_log", "rss-log": "atom_log", "atom-tags": "atom_log",
    "rss-tags": "atom_log", "atom-bookmarks": "atom_log", "rss-bookmarks": "atom_log",
    "json-log": "json_log", "json-shortlog": "json_log", "json-changelog": "json_log", "json-graph": "json_log",
    "json-filelog": "json_log", "json-rev": "json_rev", "json-changeset": "json_rev", "json-diff": "json_rev",
    "json-comparison": "json_rev", "json-file": "json_rev", "json-annotate": "json_rev",
    "json-manifest": "json_rev", "json-tags": "json_tags", "json-branches": "json_branches",
    "json-bookmarks": "json_bookmarks", "json-summary": "json_index", "json-help": "other",
    "static": "static", "help": "other",
    # Kallithea
    "files": "file", "raw": "raw_file", "rawfile": "raw_file", "changeset-patch": "changeset",
    "changeset-diff": "changeset", "feed": "atom_log", "refs-data": "json_tags",
    "pull-request": "other", "settings": "other", "fork": "other", "forks": "other", "followers": "other",
    "statistics": "other", "compare": "other",
}
JSON_OF = {"index": "json_index", "log": "json_log", "shortlog": "json_log", "graph": "json_log",
           "changeset": "json_rev", "file": "json_rev", "manifest": "json_rev", "annotate": "json_rev",
           "tags": "json_tags", "branches": "json_branches", "summary": "json_index"}
STATIC_SUFFIXES = (".css", ".js", ".png", ".gif", ".ico", ".svg", ".jpg", ".jpeg", ".woff", ".woff2", ".ttf",
                   ".map", ".txt", ".xml", ".webmanifest")
NOT_FOUND = frozenset((400, 404, 405, 410, 414))  # asked for what is not there: not load a replay can make
CACHE_MAX = 200_000  # classified targets remembered (CI pollers ask the same URLs all day)


def open_log(path: Path):
    """A text stream of an access log, gzipped or not (by its first bytes, whatever its name)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic == b"\x1f\x8b":
            return gzip.open(path, "rt", encoding="latin-1", newline="")
        return open(path, "rt", encoding="latin-1", newline="")
    except FileNotFoundError:
        raise HarnessError(f"access log {path} not found") from None
    except IsADirectoryError:
        raise HarnessError(f"access log {path} is a directory") from None
    except OSError as e:
        raise HarnessError(f"cannot read access log {path}: {e.strerror or e}") from None


def head_lines(path: Path, n: int = DETECT_LINES) -> list[str]:
    out = []
    try:
        with open_log(path) as f:
            for line in f:
                if line.strip():
                    out.append(line)
                    if len(out) >= n:
                        break
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise HarnessError(f"cannot read access log {path}: {e}") from None
    return out


def detect(lines: list[str]) -> tuple[str | None, int]:
    """(the format that parses most of these lines, how many it parses); (None, 0) when none parses any."""
    best, hits = None, 0
    for name in FORMATS:
        rx = REGEXES[name][0]
        n = sum(1 for line in lines if rx.match(line))
        if n > hits:
            best, hits = name, n
    return best, hits


class Clock:
    """Log timestamps to seconds: (UTC epoch, local seconds since the epoch as the log's clock reads them).

    Parsing a date is the costly part of a line; minutes repeat, so each distinct minute is parsed once."""

    def __init__(self):
        self._minutes: dict[str, int] = {}
        self._zones: dict[str, int] = {}

    def parse(self, ts: str) -> tuple[int, int]:
        """'10/Oct/2025:13:55:36 +0200' (HAProxy: '10/Oct/2025:13:55:36.655', no zone) -> (utc, local)."""
        minute = self._minutes.get(ts[:17])
        if minute is None:
            minute = self._minute(ts[:17])
        local = minute + int(ts[18:20])
        zone = ts[21:] if ts[20:21] == " " else ""  # HAProxy: ".655" milliseconds and no zone
        if not zone:
            return local, local
        off = self._zones.get(zone)
        if off is None:
            off = self._zone(zone)
        return local - off, local

    def _minute(self, key: str) -> int:
        try:
            day, mon, rest = key.split("/")
            year, hh, mm = rest.split(":")
            value = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), 0))
        except (ValueError, KeyError):
            raise ValueError(f"bad timestamp {key!r}") from None
        if len(self._minutes) > CACHE_MAX:
            self._minutes.clear()
        self._minutes[key] = value
        return value

    def _zone(self, zone: str) -> int:
        z = zone.strip()
        if len(z) != 5 or z[0] not in "+-" or not z[1:].isdigit():
            raise ValueError(f"bad time zone {zone!r}")
        off = (int(z[1:3]) * 3600 + int(z[3:5]) * 60) * (1 if z[0] == "+" else -1)
        self._zones[zone] = off
        return off


class Classifier:
    """A request's target (path and query) -> (kind, repository) with kind an action name, "hg:COMMAND",
    "static" or "other"; the repository is "" for site-wide pages. `prefix` (e.g. /hg) is cut off first."""

    REPLAYED = frozenset(("index", "summary", "log", "shortlog", "graph", "changeset", "manifest", "file",
                          "raw_file", "annotate", "archive", "tags", "branches", "atom_log", "json_index", "json_log",
                          "json_rev", "json_tags", "json_branches", "json_bookmarks", "api_get_repos",
                          "api_get_repo", "api_get_changesets"))

    def __init__(self, prefix: str = ""):
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        # target -> (kind, repository, 1 replayed action | 2 wire command | 0 neither): the hot loop reads it
        self.cache: dict[str, tuple[str, str, int]] = {}

    def __call__(self, target: str) -> tuple[str, str]:
        return self.entry(target)[:2]

    def entry(self, target: str) -> tuple[str, str, int]:
        hit = self.cache.get(target)
        if hit is not None:
            return hit
        kind, repo = self.classify(target)
        out = (kind, repo, 2 if kind.startswith("hg:") else 1 if kind in self.REPLAYED else 0)
        if len(self.cache) >= CACHE_MAX:
            self.cache.clear()
        self.cache[target] = out
        return out

    def classify(self, target: str) -> tuple[str, str]:
        path, _, query = target.partition("?")
        if self.prefix:
            if path == self.prefix or path.startswith(self.prefix + "/"):
                path = path[len(self.prefix):]
            elif path.startswith("/"):
                return "other", ""
        if "cmd=" in query:
            cmd = _query_value(query, "cmd")
            if cmd is not None:
                return "hg:" + (cmd if cmd in WIRE_COMMANDS else "other"), path.strip("/")
        segs = [s for s in path.split("/") if s]
        as_json = "style=json" in query
        if not segs:
            return ("json_index" if as_json else "index"), ""
        for i, seg in enumerate(segs):
            kind = KEYWORDS.get(seg)
            if kind is None:
                continue
            if i == 0 and kind not in ("static",):
                break  # a repository named like a page kind: the whole path is a repository page
            repo = "/".join(segs[:i])
            rest = segs[i + 1:]
            if kind == "file" and (path.endswith("/") or len(rest) <= 1 or "." not in rest[-1]):
                kind = "manifest"  # a directory (or the root) of a revision: no name extension (Makefile is a file)
            if as_json:
                kind = JSON_OF.get(kind, kind)
            return kind, repo
        last = segs[-1].lower()
        if last == "robots.txt":
            return "other", ""  # a crawler's
        if segs[0].startswith("_"):
            if segs[0] == "_admin" and len(segs) > 1 and segs[1] == "api":
                return "api_get_repo", ""  # Kallithea's JSON-RPC (the method is in the body, not the log)
            return ("static" if last.endswith(STATIC_SUFFIXES) else "other"), ""
        if last.endswith(STATIC_SUFFIXES):
            return "static", ""
        return (JSON_OF["summary"] if as_json else "summary"), "/".join(segs)


def _query_value(query: str, key: str) -> str | None:
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == key:
            return v
    return None


# --- the logs' files and clock ----------------------------------------------------------------------------

def order_files(paths: list[Path], fmt: str | None) -> list[tuple[Path, str, int]]:
    """(path, format, first local time) of each log, oldest first (rotated logs come in any order)."""
    out = []
    for p in paths:
        head = head_lines(p)
        if not head:
            out.append((p, fmt or "combined", -1))
            continue
        name = fmt or detect(head)[0]
        if name is None:
            out.append((p, "combined", -1))  # all malformed: counted as such when read
            continue
        rx, groups = REGEXES[name]
        first = -1
        clock = Clock()
        for line in head:
            m = rx.match(line)
            if m:
                try:
                    first = clock.parse(m.group(groups[1]))[0]
                except ValueError:
                    continue
                break
        out.append((p, name, first))
    return sorted(out, key=lambda x: x[2])


def _coverage(spans: list[tuple[int, int]]) -> list[float]:
    """Seconds of each quarter hour of the day the logs cover (their spans merged)."""
    cover = [0.0] * SLOTS
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 60:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    for a, b in merged:
        b += 1  # the last second logged counts
        t = a
        while t < b:
            slot_end = (t // SLOT_S + 1) * SLOT_S
            step = min(slot_end, b) - t
            cover[(t % 86400) // SLOT_S] += step
            t += step
    return cover


def daily_curve(slots: list[int], spans: list[tuple[int, int]]) -> tuple[list[float], int]:
    """Requests/s per quarter hour, relative to the busiest (1.0); quarters the logs do not cover are
    interpolated from their covered neighbours. Also how many quarters were covered."""
    cover = _coverage(spans)
    enough = min(60.0, max(cover))  # a quarter hour with a minute of logs has a rate (a short log: what it has)
    rate = [slots[i] / cover[i] if cover[i] >= enough > 0 else None for i in range(SLOTS)]
    known = [i for i, r in enumerate(rate) if r is not None]
    if not known:
        return [1.0] * SLOTS, 0
    filled = []
    for i in range(SLOTS):
        if rate[i] is not None:
            filled.append(rate[i])
            continue
        before = max((k for k in known if k < i), default=known[-1] - SLOTS)
        after = min((k for k in known if k > i), default=known[0] + SLOTS)
        rb, ra = rate[before % SLOTS], rate[after % SLOTS]
        w = (i - before) / (after - before)
        filled.append(rb + (ra - rb) * w)
    top = max(filled) or 1.0
    return [round(r / top, 3) for r in filled], len(known)


def peak_rate(minutes: dict[int, int], spans: list[tuple[int, int]]) -> tuple[float, int]:
    """(requests/s, requests) of the busiest minute, over the seconds of it the logs cover (a log that starts or
    ends inside a minute covers part of it; a part under 10 s, unless the logs are that short, is left out)."""
    total = sum(b - a + 1 for a, b in spans)
    best, best_n = 0.0, 0
    for minute, n in minutes.items():
        lo, hi = minute * 60, minute * 60 + 60
        covered = sum(max(0, min(hi, b + 1) - max(lo, a)) for a, b in spans)
        if covered < min(10, total) or covered <= 0:
            continue
        r = n / min(60, covered)
        if r > best:
            best, best_n = r, n
    return best, best_n
