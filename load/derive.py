"""Derive a load mix from a site's own access logs: `hgharness load derive ACCESS_LOG... -o mymix.toml`.

The logs are streamed once, in bounded memory (gzipped and rotated files welcome, oldest first):

  1. each line is parsed (load/accesslog.py: nginx/Apache combined, gunicorn's default, HAProxy's HTTP log) and
     its request classified into an action name, a wire-protocol command, or something load does not replay;
     malformed lines are counted and skipped;
  2. requests are grouped into sessions: one client (a hash of address and user agent, never stored) until it
     is idle for --idle (default 30 min); a session is closed, and forgotten, once it has been idle that long;
  3. a closed session is given one of the harness's user classes by what it did: any wire-protocol command makes
     it a Developer (its commands are grouped into operations, each starting with `capabilities`: one with an
     unbundle is a push; one that fetched within 4x of the largest bundle its repository ever sent is a clone,
     the others pulls); else the class whose own action weights (load/users.py) make the session's actions
     likeliest (AnonymousBrowser, ApiClient, CIBot);
  4. per class: the action weights, the think time between tasks (its pace: 1 / mean think time) and session
     lengths; the class's share of users is its tasks / pace (Little's law: the users it takes, at that pace,
     to make that many requests);
  5. the arrival rate per quarter hour of the day (the log's own clock) and the busiest minute.

The mix file holds weights, paces, the repositories' popularity by rank, the daily curve and a summary: never
an address, a user name, a user agent, a query string or a repository name (a repository is its rank; at load
time rank k is the target's k-th repository). `hgharness load --mix-file mymix.toml --shape daily --duration 10m`
runs it as it runs the built-in mixes.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.load.accesslog import (
    FORMAT_ALIASES,
    NOT_FOUND,
    REGEXES,
    SLOT_S,
    SLOTS,
    Classifier,
    Clock,
    daily_curve,
    open_log,
    order_files,
    peak_rate,
)
from hgharness.load.mixfile import explain, mix_name, render
from hgharness.stats import quantile

SCHEMA = "hgharness.derived-mix/1"
IDLE_S = 1800                # a client idle this long has ended its session (web analytics' usual 30 min)
TOP_RANKS = 50               # repository popularity ranks kept (the rest counted in the last)
WEIGHT_SCALE = 1000          # integer weights are per mille
RESERVOIR = 5000             # session lengths kept per class for medians
CLONE_FACTOR_BITS = 2        # a fetch within 2**2 of its repository's largest bundle is a clone
CLONE_MIN_BITS = 12          # ... and only when that largest bundle is 4 KiB or more
HTTP_CLASSES = ("AnonymousBrowser", "ApiClient", "CIBot")
# each class's own action weights (load/users.py; not imported: it imports Locust), the classifier's evidence;
# "static" is what a browser fetches besides pages
PROTOTYPES = {
    "AnonymousBrowser": {"index": 2, "summary": 4, "log": 5, "shortlog": 2, "graph": 2, "changeset": 6,
                         "manifest": 3, "file": 5, "raw_file": 2, "annotate": 1, "tags": 1, "branches": 1,
                         "archive": 1, "static": 4},
    "ApiClient": {"json_index": 1, "json_log": 4, "json_rev": 4, "json_tags": 1, "json_branches": 1,
                  "json_bookmarks": 1, "api_get_repos": 1, "api_get_repo": 3, "api_get_changesets": 3},
    "CIBot": {"json_log": 6, "atom_log": 2, "raw_file": 3, "archive": 1},
}
REPLAYED = ("index", "summary", "log", "shortlog", "graph", "changeset", "manifest", "file", "raw_file",
            "annotate", "archive", "tags", "branches", "atom_log", "json_index", "json_log", "json_rev",
            "json_tags", "json_branches", "json_bookmarks", "api_get_repos", "api_get_repo", "api_get_changesets")
DEVELOPER_ACTIONS = ("pull", "push", "clone")
SMOOTHING = 0.2


def _log_probs() -> dict[str, dict[str, float]]:
    vocab = set(REPLAYED) | {"static"}
    out = {}
    for cls, weights in PROTOTYPES.items():
        total = sum(weights.values()) + SMOOTHING * len(vocab)
        out[cls] = {a: math.log((weights.get(a, 0) + SMOOTHING) / total) for a in vocab}
    return out


LOG_P = _log_probs()


def classify_session(actions: dict[str, int]) -> str:
    """The HTTP user class whose action weights make these action counts likeliest (equal priors)."""
    best, score = "AnonymousBrowser", -math.inf
    for cls, lp in LOG_P.items():
        s = sum(n * lp[a] for a, n in actions.items() if a in lp)
        if s > score:
            best, score = cls, s
    return best


class Model:
    """What the logs say, accumulated line by line; counters and bounded samples only."""

    def __init__(self, idle_s: int = IDLE_S, seed: int = 0):
        self.idle_s = idle_s
        self.rng = random.Random(seed)
        self.sessions: dict[int, list] = {}
        self.lines = self.malformed = self.requests = 0
        self.kinds: Counter = Counter()           # every request's kind, replayed or not
        self.statuses: Counter = Counter()        # "3", "4", "5": requests whose status is not 2xx
        self.repos: Counter = Counter()           # repository -> tasks (names stay in memory, never written)
        self.slots = [0] * SLOTS                  # requests per quarter hour of the day (local clock)
        self.minutes: Counter = Counter()         # requests per UTC minute, for the busiest one
        self.spans: list[tuple[int, int]] = []    # (first, last) local time of each file
        self.utc_spans: list[tuple[int, int]] = []  # the same in UTC
        self.fetches: Counter = Counter()         # (repository, log2 bytes) of operations that fetched a bundle
        self.classes = {c: {"sessions": 0, "requests": 0, "tasks": 0, "gaps_s": 0.0, "gaps": 0,
                            "actions": Counter(), "lengths": [], "durations": [], "seen": 0}
                        for c in (*HTTP_CLASSES, "Developer")}
        self.max_t = None
        self._class_cache: dict[tuple, str] = {}
        self._random = self.rng.random

    # --- sessions -----------------------------------------------------------------------------------------
    # A session: [last seen, first seen, {kind: requests}, Developer state or None]. Its think time is the span
    # from its first to its last task over the gaps between them (the gaps' sum, telescoped: nothing per line).
    # A Developer's state: [operation's repository, pushed, largest bundle fetched, streamed, first operation's
    # start, last operation's start, operations].

    def close(self, s: list) -> None:
        """A session is over: give it a class and add what it did to the class's counters."""
        last, first, acts, dev = s
        kinds = self.kinds
        n = 0
        for a, k in acts.items():
            kinds[a] += k
            n += k
        if dev is not None:
            actions = self._end_op(dev, {})
            cls = "Developer"
            tasks = dev[6]
            gaps, gaps_s = tasks - 1, dev[5] - dev[4]
        else:
            if len(acts) <= 3:  # most sessions: few kinds, the same few again and again
                ck = tuple(acts.items())
                cls = self._class_cache.get(ck)
                if cls is None:
                    cls = self._class_cache[ck] = classify_session(acts)
                    if len(self._class_cache) > 100_000:
                        self._class_cache.clear()
            else:
                cls = classify_session(acts)
            actions = {a: k for a, k in acts.items() if a in REPLAYED_SET}
            tasks = sum(actions.values())
            gaps, gaps_s = tasks - 1, last - first
        c = self.classes[cls]
        c["sessions"] += 1
        c["requests"] += n
        c["tasks"] += tasks
        if gaps > 0:
            c["gaps_s"] += gaps_s
            c["gaps"] += gaps
        ca = c["actions"]
        for a, k in actions.items():
            ca[a] += k
        c["seen"] += 1
        if len(c["lengths"]) < RESERVOIR:
            c["lengths"].append(n)
            c["durations"].append(last - first)
        else:
            j = int(self._random() * c["seen"])  # reservoir sampling: every session equally likely kept
            if j < RESERVOIR:
                c["lengths"][j] = n
                c["durations"][j] = last - first

    def _end_op(self, dev: list, actions: dict) -> dict:
        """The Developer operation under way is over: a push, a clone or a fetch (clone or pull: decided at the
        end, from its repository's largest bundle). Its kind is counted into `actions` (a session's, at its
        close; else the Developer state's own, kept in dev[7])."""
        repo = dev[0]
        if repo is not None:
            done = dev[7]
            if dev[1]:
                done["push"] = done.get("push", 0) + 1
            elif dev[3]:
                done["clone"] = done.get("clone", 0) + 1
            elif dev[2] >= 0:
                self.fetches[(repo, dev[2].bit_length())] += 1
            else:
                done["pull"] = done.get("pull", 0) + 1  # looked, fetched nothing (incoming, an empty push)
            dev[0], dev[1], dev[2], dev[3] = None, False, -1, False
        for a, k in dev[7].items():
            actions[a] = actions.get(a, 0) + k
        return actions

    def sweep(self, now: int) -> None:
        cutoff = now - self.idle_s
        done = [k for k, s in self.sessions.items() if s[0] < cutoff]
        for k in done:
            self.close(self.sessions.pop(k))

    def close_all(self) -> None:
        for s in self.sessions.values():
            self.close(s)
        self.sessions.clear()

    # --- reading ------------------------------------------------------------------------------------------
    def read(self, path: Path, fmt: str, classifier: Classifier) -> None:
        """Stream one file into the model. The hot loop (bench/bench_derive.py): every name it needs is a local,
        a timestamp is parsed once per distinct second, a target classified once (cached), and what can be
        counted per session (kinds) or per minute (the daily slots) is counted there, not per line."""
        rx, groups = REGEXES[fmt]
        in_order = groups == tuple(range(1, 8))
        match = rx.match
        parse_time = Clock().parse
        cache_get, entry = classifier.cache.get, classifier.entry
        sessions, repos, minutes, slots = self.sessions, self.repos, self.minutes, self.slots
        statuses = self.statuses
        idle = self.idle_s
        lines = malformed = requests = 0
        first = last = first_utc = last_utc = None
        next_sweep = 0
        last_ts = None
        utc = local = 0
        cur_minute, cur_count, cur_slot = None, 0, 0
        end_op, close = self._end_op, self.close
        try:
            with open_log(path) as f:
                for line in f:
                    lines += 1
                    m = match(line)
                    if m is None:
                        if line.strip():
                            malformed += 1
                        else:
                            lines -= 1
                        continue
                    addr, ts, _method, target, status, size, agent = m.groups() if in_order else m.group(*groups)
                    if ts != last_ts:
                        try:
                            utc, local = parse_time(ts)
                        except ValueError:
                            malformed += 1
                            continue
                        last_ts = ts
                        minute = utc // 60
                        if minute != cur_minute:  # requests per minute (the peak) and per quarter hour (the day)
                            if cur_count:
                                minutes[cur_minute] += cur_count
                                slots[cur_slot] += cur_count
                            cur_minute, cur_count, cur_slot = minute, 0, (local % 86400) // SLOT_S
                        if first is None:
                            first = last = local
                            first_utc = last_utc = utc
                            next_sweep = utc + idle
                        elif local > last:
                            last, last_utc = local, utc
                        elif local < first:
                            first, first_utc = local, utc
                        if utc > next_sweep:
                            self.sweep(utc)
                            next_sweep = utc + idle
                    requests += 1
                    cur_count += 1
                    hit = cache_get(target)
                    if hit is None:
                        hit = entry(target)
                    kind, repo, flag = hit
                    if status[0] != "2":
                        statuses[status[0]] += 1
                        if status[0] == "4" and flag != 2 and int(status) in NOT_FOUND:
                            kind, flag = "not_found", 0
                    key = hash((addr, agent))
                    s = sessions.get(key)
                    if s is None or utc - s[0] > idle:
                        if s is not None:
                            close(s)
                        s = sessions[key] = [utc, utc, {}, None]
                    elif utc > s[0]:
                        s[0] = utc
                    acts = s[2]
                    acts[kind] = acts.get(kind, 0) + 1
                    if flag == 1:
                        if repo:
                            repos[repo] += 1
                    elif flag == 2:
                        dev = s[3]
                        if dev is None:
                            dev = s[3] = [None, False, -1, False, utc, utc, 0, {}]
                        cmd = kind[3:]
                        if cmd == "capabilities" or dev[0] is None:  # an operation starts
                            if dev[0] is not None:
                                end_op(dev, {})
                            dev[0] = repo
                            if dev[6] == 0:
                                dev[4] = utc
                            dev[5] = utc
                            dev[6] += 1
                            repos[repo] += 1
                        if cmd == "unbundle":
                            dev[1] = True
                        elif cmd == "getbundle":
                            n = int(size) if size != "-" else 0
                            if n > dev[2]:
                                dev[2] = n
                        elif cmd == "stream_out":
                            dev[3] = True
        except (OSError, EOFError, zlib.error) as e:  # a truncated or corrupt gzip member, a file that vanished
            raise HarnessError(f"cannot read access log {path}: {e}") from None
        if cur_count:
            minutes[cur_minute] += cur_count
            slots[cur_slot] += cur_count
        self.lines += lines
        self.malformed += malformed
        self.requests += requests
        if first is not None:
            self.spans.append((first, last))
            self.utc_spans.append((first_utc, last_utc))
            self.max_t = max(self.max_t or 0, last)

    # --- what was learned ---------------------------------------------------------------------------------
    def split_fetches(self) -> Counter:
        """Operations that fetched a bundle, as clones or pulls: a clone is within 4x of the largest bundle its
        repository sent (and that bundle was 4 KiB or more); everything smaller was a pull."""
        top: dict[str, int] = {}
        for (repo, bits), _n in self.fetches.items():
            top[repo] = max(top.get(repo, 0), bits)
        out: Counter = Counter()
        for (repo, bits), n in self.fetches.items():
            big = top[repo] >= CLONE_MIN_BITS and bits >= top[repo] - CLONE_FACTOR_BITS
            out["clone" if big else "pull"] += n
        return out


REPLAYED_SET = frozenset(REPLAYED)


def derive(paths: list[str | Path], fmt: str = "auto", idle_s: int = IDLE_S, prefix: str = "") -> dict:
    """Read the logs; the learned model as a dict (mix entry + summary). HarnessError for bad input."""
    if fmt not in FORMAT_ALIASES:
        raise HarnessError(f"unknown log format {fmt!r} (known: {', '.join(FORMAT_ALIASES)})")
    if not paths:
        raise HarnessError("no access log given")
    files = [Path(p) for p in paths]
    for p in files:
        if not p.exists():
            raise HarnessError(f"access log {p} not found")
        if p.is_dir():
            raise HarnessError(f"access log {p} is a directory")
    model = Model(idle_s=idle_s)
    classify = Classifier(prefix)
    formats = Counter()
    end = None
    for path, name, first in order_files(files, FORMAT_ALIASES[fmt]):
        if end is not None and first >= 0 and first < end - idle_s:
            model.close_all()  # this log overlaps the last one (another server's): sessions cannot span them
        model.read(path, name, classify)
        formats[name] += 1
        end = model.max_t
    model.close_all()
    if model.lines == 0:
        raise HarnessError(f"the access log{'s' if len(files) > 1 else ''} {', '.join(map(str, files))} "
                           f"{'are' if len(files) > 1 else 'is'} empty")
    if model.requests == 0:
        raise HarnessError(f"none of the {model.lines} lines is an access-log line"
                           + (f" of format {fmt}" if fmt != "auto" else " of a known format (nginx/Apache combined, "
                              "gunicorn, HAProxy)") + ": check --format")
    out = learned(model, formats.most_common(1)[0][0])
    if not out["users"]:
        skipped = ", ".join(f"{k} {v}" for k, v in out["derived"]["not_replayed"].items())
        raise HarnessError(f"none of the {model.requests} requests is a page, a JSON view or a Mercurial command of "
                           f"the site ({skipped}): check --prefix")
    return out


def _per_mille(counts: dict[str, float]) -> dict[str, int]:
    total = sum(counts.values())
    if total <= 0:
        return {}
    out = {k: int(round(WEIGHT_SCALE * v / total)) for k, v in counts.items()}
    for k, v in counts.items():  # whatever was seen keeps at least weight 1
        if v > 0 and out[k] == 0:
            out[k] = 1
    return out


def learned(model: Model, fmt: str) -> dict:
    """The mix entry ({users, pace, actions, repos, daily, derived}) of what the model saw."""
    fetched = model.split_fetches()
    dev = model.classes["Developer"]
    dev["actions"].update(fetched)  # (fetching operations were counted as the Developer's tasks already)
    users, pace, actions, classes = {}, {}, {}, {}
    for cls, c in model.classes.items():
        tasks = c["tasks"]
        if tasks <= 0:
            continue
        think = c["gaps_s"] / c["gaps"] if c["gaps"] and c["gaps_s"] > 0 else None
        rate = 1.0 / think if think else None
        classes[cls] = {"sessions": c["sessions"], "requests": c["requests"], "tasks": tasks,
                        "think_s": round(think, 2) if think else None,
                        "session_requests_p50": (quantile(c["lengths"], 0.5) if c["lengths"] else None),
                        "session_minutes_p50": round((quantile(c["durations"], 0.5) if c["durations"] else 0) / 60, 2)}
        pace[cls] = round(rate, 4) if rate else None
        actions[cls] = dict(c["actions"])
    # a class seen only in one-request sessions has no think time: the slowest pace measured, else 1 a minute
    measured = [p for p in pace.values() if p]
    for cls in pace:
        if not pace[cls]:
            pace[cls] = min(measured) if measured else round(1 / 60, 4)
    # users of a class: its tasks / its pace (the users it takes, at that pace, to make that many requests)
    user_time = {cls: classes[cls]["tasks"] / pace[cls] for cls in classes}
    users = _per_mille(user_time)
    total_time = sum(user_time.values()) or 1.0
    for cls in classes:
        classes[cls]["share"] = round(user_time[cls] / total_time, 4)
    weights = {}
    for cls, counts in actions.items():
        names = DEVELOPER_ACTIONS if cls == "Developer" else REPLAYED
        w = _per_mille({a: counts.get(a, 0) for a in names})
        weights[cls] = {a: w.get(a, 0) for a in names}  # every action named: a derived mix replaces the class's own
    ranked = [n for _repo, n in model.repos.most_common()]
    if len(ranked) > TOP_RANKS:
        ranked = ranked[:TOP_RANKS - 1] + [sum(ranked[TOP_RANKS - 1:])]
    repo_weights = [max(1, int(round(WEIGHT_SCALE * n / sum(ranked)))) for n in ranked] if ranked else []
    curve, covered = daily_curve(model.slots, model.spans)
    peak_rps, peak_n = peak_rate(model.minutes, model.utc_spans)
    span_s = sum(b - a + 1 for a, b in model.spans)
    replayed = sum(n for k, n in model.kinds.items() if k in REPLAYED_SET or k.startswith("hg:"))
    top = [[k, n] for k, n in model.kinds.most_common() if k in REPLAYED_SET][:10]
    hg_ops = {a: dev["actions"].get(a, 0) for a in DEVELOPER_ACTIONS if dev["actions"].get(a)}
    busiest_slot = max(range(SLOTS), key=lambda i: model.slots[i])
    mean_rps = model.requests / span_s if span_s > 0 else None
    summary = {
        "schema": SCHEMA, "format": fmt, "files": len(model.spans), "lines": model.lines,
        "malformed": model.malformed, "requests": model.requests, "replayed_requests": replayed,
        "not_replayed": {k: model.kinds.get(k, 0) for k in ("static", "other", "not_found")
                         if model.kinds.get(k)},
        "statuses": {f"{k}xx": n for k, n in sorted({**model.statuses,
                                                      "2": model.requests - sum(model.statuses.values())}.items())
                     if n},
        "sessions": sum(c["sessions"] for c in classes.values()), "idle_cutoff_s": model.idle_s,
        "classes": classes, "top_actions": top, "hg_operations": hg_ops,
        "repositories": len(model.repos), "hours_covered": round(span_s / 3600, 2),
        "quarters_covered": covered,
        "peak_rps": round(peak_rps, 3), "peak_minute_requests": peak_n,
        "mean_rps": round(mean_rps, 3) if mean_rps else None,
        "busiest_quarter": f"{busiest_slot * SLOT_S // 3600:02d}:{busiest_slot * SLOT_S % 3600 // 60:02d}",
    }
    # users at the peak: the peak rate over the mix's mean rate per user (Little's law again)
    per_user = sum(users[c] * pace[c] for c in users) / (sum(users.values()) or 1)
    summary["peak_users"] = max(1, int(math.ceil(summary["peak_rps"] / per_user))) if per_user > 0 else None
    return {"users": users, "pace": pace, "actions": weights, "repos": repo_weights,
            "daily": {"slot_s": SLOT_S, "rate": curve, "peak_rps": summary["peak_rps"]}, "derived": summary}


# --- the command -------------------------------------------------------------------------------------------

def add_arguments(p) -> None:
    p.add_argument("logs", nargs="+", metavar="ACCESS_LOG", help="access logs (gzipped or not; rotated files in "
                   "any order)")
    p.add_argument("-o", "--output", help="write the mix file here (e.g. mymix.toml)")
    p.add_argument("--name", help="the mix's name in the file (default: the output file's name)")
    p.add_argument("--format", default="auto", choices=tuple(FORMAT_ALIASES),
                   help="log format (default auto: detected per file)")
    p.add_argument("--idle", default="30m", help="a client idle this long has ended its session (default 30m)")
    p.add_argument("--prefix", default="", help="the site's path prefix, cut off before classifying (e.g. /hg)")
    p.add_argument("--explain", action="store_true", help="print what was learned")


def main(args) -> int:
    from hgharness.load.shapes import parse_duration

    if not args.output and not args.explain:
        raise HarnessError("give -o FILE (the mix file to write) or --explain (print what the logs say)")
    idle = parse_duration(args.idle)
    if idle < 1:
        raise HarnessError(f"--idle must be at least 1s, not {args.idle!r}")
    model = derive(args.logs, args.format, idle_s=idle, prefix=args.prefix)
    name = mix_name(args.name or (Path(args.output).stem if args.output else "derived"))
    if args.explain:
        print(explain(model, name))
    if args.output:
        out = Path(args.output)
        if not out.parent.is_dir():
            raise HarnessError(f"cannot write {out}: its directory does not exist")
        try:
            out.write_text(render(name, model), encoding="utf-8")
        except OSError as e:
            raise HarnessError(f"cannot write {out}: {e.strerror or e}") from None
        s = model["derived"]
        print(f"wrote mix {name!r} to {out}: {s['requests']} requests, {s['sessions']} sessions, "
              f"{len(model['users'])} classes, peak {s['peak_rps']} req/s"
              + (f", {s['malformed']} malformed lines skipped" if s["malformed"] else ""))
        print(f"  run it: hgharness load --mix-file {out} --shape daily --duration 10m")
    return 0
