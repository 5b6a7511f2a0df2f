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
    users = {cls: w for cls, w in users.items() if w > 0}
    if not users:
        raise HarnessError(f"mix {name!r} has no user class with a weight above 0")
    if check_available and "Developer" in users and not developer_available():
        raise HarnessError(f"mix {name!r} needs the Developer user (load/hguser.py), which this build lacks")
    return {"name": name, "description": entry.get("description", ""), "users": users,
            "pace": {cls: float(pace[cls]) for cls in users}, "actions": actions}

