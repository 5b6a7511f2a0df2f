"""Named user mixes (load/mixes.toml): which user classes, in what ratio, at what pace."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.load import read_toml

DEFAULT_MIXES = Path(__file__).with_name("mixes.toml")
DEFAULT_MIX = "mixed"
USER_CLASSES = ("AnonymousBrowser", "ApiClient", "CIBot", "Developer")


DEVELOPER_ACTIONS = ("pull", "push", "clone")  # load/hguser.py's tasks (weights 10, 3, 1 unless a mix says)


def developer_available() -> bool:
    """Developer is the push-traffic HgUser (load/hguser.py); found without importing Locust here."""
    try:
        return importlib.util.find_spec("hgharness.load.hguser") is not None
    except (ImportError, ValueError):
        return False


def read_mixes(path: str | Path | None = None) -> dict:
    path = Path(path or DEFAULT_MIXES)
    data = read_toml(path, "mixes")
    if not isinstance(data.get("mixes"), dict) or not data["mixes"]:
        raise HarnessError(f"malformed mixes file {path}: no [mixes.NAME] table")
    return data


def get_mix(name: str | None = None, path: str | Path | None = None, check_available: bool = True) -> dict:
    """{"name", "description", "users": {class: weight}, "pace": {class: tasks/s per user},
    "actions": {class: {action: weight}} (overrides of the class's own action weights)} for mix `name`."""
    name = name or DEFAULT_MIX
    data = read_mixes(path)
    mixes = data["mixes"]
    where = path or DEFAULT_MIXES
    if name not in mixes:
        raise HarnessError(f"unknown mix {name!r} (known: {', '.join(sorted(mixes))})")
    entry = mixes[name]
    users = entry.get("users")
    if not isinstance(users, dict) or not users:
        raise HarnessError(f"malformed mixes file {where}: mixes.{name} has no users table")
    pace = dict(data.get("pace", {}))
    pace.update(entry.get("pace", {}))
    for cls, weight in users.items():
        if cls not in USER_CLASSES:
            raise HarnessError(f"mix {name!r} names unknown user class {cls!r} (known: {', '.join(USER_CLASSES)})")
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise HarnessError(f"mix {name!r}: weight of {cls} must be a whole number >= 0, not {weight!r}")
        rate = pace.get(cls)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate < 0:
            raise HarnessError(f"mix {name!r}: pace of {cls} must be a number of tasks per second >= 0, "
                               f"not {rate!r}")
    actions = entry.get("actions", {})
    if not isinstance(actions, dict):
        raise HarnessError(f"malformed mixes file {where}: mixes.{name}.actions must be a table of user classes")
    for cls, table in actions.items():
        if cls not in USER_CLASSES or not isinstance(table, dict):
            raise HarnessError(f"mix {name!r}: actions.{cls} must be a table of action weights of AnonymousBrowser, "
                               "ApiClient, CIBot or Developer")
        for action, weight in table.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise HarnessError(f"mix {name!r}: actions.{cls}.{action} must be a whole number >= 0")
            if cls == "Developer" and action not in DEVELOPER_ACTIONS:
                raise HarnessError(f"mix {name!r}: actions.Developer.{action} is not a Developer action "
                                   f"(known: {', '.join(DEVELOPER_ACTIONS)})")
        if cls == "Developer" and not any(table.get(a, 1) for a in DEVELOPER_ACTIONS):
            raise HarnessError(f"mix {name!r}: actions.Developer leaves the Developer nothing to do")
    repos = _repo_weights(name, entry.get("repos"))
    daily = _daily(name, entry.get("daily"))
    transport = entry.get("transport", "http")
    if transport not in ("http", "ssh"):
        raise HarnessError(f"mix {name!r}: transport must be \"http\" or \"ssh\", not {transport!r}")
    derived = entry.get("derived")
    if derived is not None and not isinstance(derived, dict):
        raise HarnessError(f"mix {name!r}: derived must be a table (the summary `hgharness load derive` writes)")
    users = {cls: w for cls, w in users.items() if w > 0}
    if not users:
        raise HarnessError(f"mix {name!r} has no user class with a weight above 0")
    if check_available and "Developer" in users and not developer_available():
        raise HarnessError(f"mix {name!r} needs the Developer user (load/hguser.py), which this build lacks")
    return {"name": name, "description": entry.get("description", ""), "users": users,
            "pace": {cls: float(pace[cls]) for cls in users}, "actions": actions, "repos": repos, "daily": daily,
            "derived": derived, "transport": transport}


def mix_in_file(path: str | Path, name: str | None = None) -> str:
    """--mix-file: the mix a file holds (a derived mix file holds one); with several, --mix must name one."""
    mixes = read_mixes(path)["mixes"]
    if name:
        return name
    if len(mixes) != 1:
        raise HarnessError(f"mix file {path} holds {len(mixes)} mixes ({', '.join(sorted(mixes))}): name one with "
                           "--mix")
    return next(iter(mixes))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def _repo_weights(name: str, repos) -> list[int]:
    """[mixes.NAME] repos = [w1, w2, ...]: request weight per repository popularity rank (derived mixes); the
    target's k-th repository (catalog order) takes rank k's weight. Empty: every repository alike."""
    if repos is None:
        return []
    if not isinstance(repos, list) or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 0
                                              for w in repos) or not any(repos):
        raise HarnessError(f"mix {name!r}: repos must be a list of whole-number weights >= 0 (one per popularity "
                           "rank), not all 0")
    return list(repos)


def rank_weights(repos: list[str], weights: list[int]) -> dict[str, int]:
    """A derived mix's weights per popularity rank, onto the target's repositories: rank k is the k-th repository;
    ranks past the target's last fold onto its repositories in turn (a production with more repositories than
    staging still sends all its traffic)."""
    out: dict[str, int] = {}
    if not repos:
        return out
    for k, w in enumerate(weights):
        name = repos[k % len(repos)]
        out[name] = out.get(name, 0) + w
    return out


def _daily(name: str, daily) -> dict | None:
    """[mixes.NAME.daily] rate = [...]: the arrival rate over a day, relative to its peak (the daily shape)."""
    if daily is None:
        return None
    rate = daily.get("rate") if isinstance(daily, dict) else None
    if not isinstance(rate, list) or not rate or not all(_number(r) for r in rate) or not any(rate):
        raise HarnessError(f"mix {name!r}: daily.rate must be a list of relative rates >= 0 (one per part of the "
                           "day), not all 0")
    if len(rate) > 1440:
        raise HarnessError(f"mix {name!r}: daily.rate has {len(rate)} values; at most 1440 (one a minute)")
    top = max(rate)
    return {"rate": [float(r) / top for r in rate], "peak_rps": daily.get("peak_rps"),
            "slot_s": daily.get("slot_s", 86400 // len(rate))}

