"""The response policy a target declares (`[targets.NAME.policy]` in targets.toml): who may read it from another
origin, who may frame its pages, which cookie flags it must set, where nosniff is required. The security suite's
policy checks (suites/security/test_policy.py) grade every route kind against it.

The defaults are safe: no foreign origin may read the site (anonymously or with credentials), pages holding a
form that posts or asks a password may be framed by the site itself only, cookies are HttpOnly, SameSite=Lax (or
Strict) and, on https, Secure, and a response of a type a browser would sniff carries nosniff. A site that lets
any origin read it with credentials (the origin reflected with Access-Control-Allow-Credentials: true) fails
whatever the policy says: `cors_credentials` applies to origins listed by name only.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import asdict, dataclass

from hgharness.errors import HarnessError

FRAME_LEVELS = ("deny", "sameorigin", "any")  # strictest first
SAMESITE_LEVELS = ("strict", "lax", "any")
NOSNIFF_LEVELS = ("always", "sniffable")
ENV = "HGHARNESS_POLICY"


@dataclass(frozen=True)
class Policy:
    cors_allowed_origins: tuple[str, ...] = ()  # origins that may read the site; "*": any origin, anonymously
    cors_credentials: bool = False              # the origins listed by name may read with credentials too
    frame: str = "any"                          # who may frame any HTML page: deny | sameorigin | any
    frame_forms: str = "sameorigin"             # pages with a form that posts or asks a password
    nosniff: str = "sniffable"                  # always | sniffable (only where a browser would sniff the type)
    cookie_httponly: bool = True
    cookie_samesite: str = "lax"                # the weakest SameSite allowed: strict | lax | any (unchecked)
    cookie_secure: bool = True                  # Secure on every cookie when the target is https

    def allows_origin(self, origin: str, credentials: bool) -> bool:
        """Whether `origin` may read responses (with the user's credentials, if `credentials`)."""
        named = origin.lower() in (o.lower() for o in self.cors_allowed_origins if o != "*")
        if credentials:
            return named and self.cors_credentials
        return named or "*" in self.cors_allowed_origins

    def frame_level(self, has_form: bool) -> str:
        """The framing a page must refuse: the stricter of `frame` and, for a page with a form, `frame_forms`."""
        levels = [self.frame] + ([self.frame_forms] if has_form else [])
        return min(levels, key=FRAME_LEVELS.index)

    def to_env(self) -> str:
        return json.dumps(asdict(self))


# key -> (type, allowed words or None)
KEYS = {
    "cors_allowed_origins": (list, None), "cors_credentials": (bool, None), "frame": (str, FRAME_LEVELS),
    "frame_forms": (str, FRAME_LEVELS), "nosniff": (str, NOSNIFF_LEVELS), "cookie_httponly": (bool, None),
    "cookie_samesite": (str, SAMESITE_LEVELS), "cookie_secure": (bool, None),
}
DEFAULT = Policy()


def parse_policy(table, where: str) -> Policy:
    """A Policy from the `policy` table of a targets.toml entry (or its JSON in the environment); errors name
    `where` (e.g. `targets.toml: [targets.staging.policy]`) and the field, in one line."""
    if not isinstance(table, dict):
        raise HarnessError(f"{where} must be a table ([targets.NAME.policy]), not {_kind(table)}")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise HarnessError(f"{where} has unknown key {unknown[0]} (known: {', '.join(KEYS)})")
    values = {}
    for key, value in table.items():
        kind, words = KEYS[key]
        if kind is bool and not isinstance(value, bool):
            raise HarnessError(f"{where} {key} must be true or false, not {_kind(value)}")
        if kind is str and (not isinstance(value, str) or value not in words):
            allowed = ", ".join(f'"{w}"' for w in words)
            raise HarnessError(f"{where} {key} must be one of {allowed}, not {_kind(value)}")
        if kind is list:
            value = _origins(value, f"{where} {key}")
        values[key] = value
    return Policy(**values)


def _origins(value, label: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise HarnessError(f"{label} must be a list of origins, not {_kind(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise HarnessError(f"{label} must be a list of origins, but item {i + 1} is {_kind(item)}")
        if item != "*":
            parts = urllib.parse.urlsplit(item)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                    or parts.query or parts.fragment or parts.username:
                raise HarnessError(f"{label}: item {i + 1} {item!r} is not an origin (scheme://host[:port]) or \"*\"")
            item = f"{parts.scheme}://{parts.netloc}".lower()
        out.append(item)
    return tuple(out)


def policy_from_env(value: str) -> Policy:
    try:
        table = json.loads(value)
    except ValueError:
        raise HarnessError(f"environment variable {ENV} must be the policy as JSON, not {value[:60]!r}") from None
    return parse_policy(table, f"environment variable {ENV}:")


def _kind(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return "the string " + json.dumps(value)[:60]
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"

