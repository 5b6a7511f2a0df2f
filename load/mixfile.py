"""The mix file `hgharness load derive` writes (load/mixes.toml's format, one mix), and its summary for people.

TOML is written here by hand: the standard library reads TOML (tomllib) but does not write it, and these few
value kinds do not justify a dependency."""

from __future__ import annotations

import math
import re

from hgharness.load.accesslog import SLOTS

NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


def mix_name(text: str) -> str:
    name = "-".join(NAME_RE.findall(text)) or "derived"
    return name[:64]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(round(v, 6)) if math.isfinite(v) else "0.0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def render(name: str, model: dict) -> str:
    """The mix file: a mixes file (load/mixes.toml's format) holding one mix, `name`."""
    s = model["derived"]
    classes = s["classes"]
    desc = (f"derived from {s['requests']} requests ({s['sessions']} sessions, {s['hours_covered']} h of logs); "
            f"peak {s['peak_rps']} req/s")
    out = [
        f"# A load mix derived by `hgharness load derive` from {s['files']} access log file(s) ({s['format']}).",
        "# Run it:  hgharness load --mix-file THIS_FILE [--shape daily --duration 10m --users N]",
        "# It holds weights, paces, the repositories' popularity by rank and the daily curve: no address, user,",
        "# user agent, query string or repository name. Repository rank k is the target's k-th repository.",
        "",
        f"[mixes.{name}]",
        f"description = {_toml_value(desc)}",
        "# share of the simulated users per class (per mille): its tasks / its pace",
        f"users = {_toml_value(model['users'])}",
        "# tasks per second per user: 1 / the mean think time between a session's tasks",
        f"pace = {_toml_value(model['pace'])}",
        "# request share per repository popularity rank (per mille), most popular first",
        f"repos = {_toml_value(model['repos'])}",
        "",
        f"[mixes.{name}.actions]",
        "# each class's action weights (per mille); every action named, so these replace the class's own",
    ]
    for cls, w in model["actions"].items():
        out.append(f"{cls} = {_toml_value(w)}")
    d = model["daily"]
    out += ["", f"[mixes.{name}.daily]",
            "# arrival rate per quarter hour of the day (the log's clock, from 00:00), relative to the busiest;",
            "# --shape daily replays it compressed into --duration, --users at 1.0",
            f"slot_s = {d['slot_s']}", f"peak_rps = {_toml_value(d['peak_rps'])}",
            "rate = [" + ", ".join(_toml_value(r) for r in d["rate"]) + "]",
            "", f"[mixes.{name}.derived]",
            "# what was learned (hgharness load derive --explain prints it; the run report shows it)"]
    flat = {k: v for k, v in s.items() if not isinstance(v, dict) or k in ("not_replayed", "statuses",
                                                                             "hg_operations")}
    for k, v in flat.items():
        if v is not None:
            out.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for cls, c in classes.items():
        out.append(f"classes.{cls} = {_toml_value(c)}")
    return "\n".join(out) + "\n"


def explain(model: dict, name: str) -> str:
    """The summary, for people: requests, sessions, classes, top actions, the peak."""
    s = model["derived"]
    lines = [f"derived mix {name!r} from {s['files']} file(s), {s['format']} format: {s['lines']} lines, "
             f"{s['requests']} requests, {s['malformed']} malformed lines skipped",
             f"  {s['hours_covered']} h of logs, {s['sessions']} sessions (idle cutoff {s['idle_cutoff_s']} s), "
             f"{s['repositories']} repositories"]
    if s.get("not_replayed"):
        lines.append("  not replayed: " + ", ".join(f"{k} {v}" for k, v in s["not_replayed"].items()))
    lines.append(f"  {'class':<17} {'users':>6} {'sessions':>8} {'requests':>9} {'think s':>8} {'pace/s':>7} "
                 f"{'req/session':>11}")
    for cls, c in s["classes"].items():
        think = f"{c['think_s']:.1f}" if c.get("think_s") else "-"
        lines.append(f"  {cls:<17} {c['share']:>6.1%} {c['sessions']:>8} {c['requests']:>9} {think:>8} "
                     f"{model['pace'][cls]:>7.3f} {c['session_requests_p50'] or 0:>11}")
    if s["top_actions"]:
        lines.append("  top actions: " + ", ".join(f"{a} {n}" for a, n in s["top_actions"]))
    if s["hg_operations"]:
        lines.append("  Mercurial operations: " + ", ".join(f"{a} {n}" for a, n in s["hg_operations"].items()))
    lines.append(f"  peak {s['peak_rps']} req/s (busiest minute, {s['peak_minute_requests']} requests); mean "
                 f"{s['mean_rps']} req/s; busiest quarter hour {s['busiest_quarter']}; daily curve from "
                 f"{s['quarters_covered']} of {SLOTS} quarter hours"
                 + (" (the rest interpolated)" if s["quarters_covered"] < SLOTS else ""))
    if s.get("peak_users"):
        lines.append(f"  the peak at this mix's pace: about {s['peak_users']} users (--users {s['peak_users']})")
    return "\n".join(lines)
