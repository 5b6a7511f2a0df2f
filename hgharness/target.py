"""The Target: one deployed instance of a Mercurial hosting site, built once and handed to every layer.

Resolution order for each setting: explicit option > environment (HGHARNESS_*) > targets.toml entry > default.
`--target` is either a URL or the name of an entry in targets.toml:

    [targets.staging]
    url = "https://code.example.com/hg/"
    site = "hgweb"                        # hgweb | kallithea
    username = "qa-bot"
    password_env = "STAGING_HG_PASSWORD"  # or password = "..." (the file should then be private)
    ca_bundle = "/etc/ssl/company-ca.pem"
    ssh_url = "ssh://hg@code.example.com:22/"  # Mercurial over SSH (traffic --transport ssh, the SSH checks)
    ssh_key = "/etc/hgharness/qa-bot.key"     # its private key (no passphrase: the harness runs unattended)
    ssh_known_hosts = "/etc/hgharness/known_hosts"  # the host key is verified against it, never accepted blindly
    backends = ["http://10.0.0.11:8080/", "http://10.0.0.12:8080/"]  # the nodes behind url: `run` compares them
    allow_load = false                    # load/stress traffic only with an explicit true
    allow_destructive = false             # pushes, new repositories/users: only with an explicit true
    repos = ["small", "medium"]
    policy = {frame = "deny"}             # or a [targets.staging.policy] table: hgharness/policy.py
    publishing = true                     # pushed changesets become public (Mercurial's default); false: stay draft

Every key has one type (TARGET_KEYS); a value of another type is refused naming the file, the entry and the
key, never read by truthiness (`allow_load = "false"` is an error, not a yes).
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.policy import DEFAULT as DEFAULT_POLICY
from hgharness.policy import ENV as POLICY_ENV
from hgharness.policy import Policy, parse_policy, policy_from_env
from hgharness.secrets import Secret
from hgharness.sites import KNOWN_SITES, load_site

DEFAULT_CONFIG = "targets.toml"
TARGET_KEYS = {  # key -> its type: str, bool, or list (of strings)
    "url": str, "site": str, "username": str, "password": str, "password_env": str, "api_key": str,
    "api_key_env": str, "ca_bundle": str, "insecure": bool, "allow_load": bool, "allow_destructive": bool,
    "repos": list, "fixture_dir": str, "front": str, "allow_js_errors": bool, "header_policy": str,
    "anonymous_push": bool, "private_repos": list, "known_issues": str, "disable": list,
    "request_deadline": float, "max_response_mb": float, "ssh_url": str, "ssh_key": str, "ssh_known_hosts": str,
    "backends": list, "publishing": bool, "policy": dict,  # the response policy: hgharness/policy.py
}
BOOL_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_url(url: str) -> str:
    """Validate a target URL; returns it with exactly one trailing slash (the path prefix is kept)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise HarnessError(f"bad target URL {url!r}: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise HarnessError(f"bad target URL {url!r}: scheme must be http or https, not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise HarnessError(f"bad target URL {url!r}: no host")
    if parts.username or parts.password:
        raise HarnessError(f"bad target URL {_strip_userinfo(parts)!r}: put credentials in HGHARNESS_USERNAME/"
                           "HGHARNESS_PASSWORD or targets.toml, not in the URL")
    if parts.query or parts.fragment:
        raise HarnessError(f"bad target URL {url!r}: no query or fragment allowed")
    del port
    path = parts.path.rstrip("/") + "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def normalize_ssh_url(url: str) -> str:
    """Validate an SSH URL (ssh://[user@]host[:port]/[path/]); returns it with one trailing slash."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as e:
        raise HarnessError(f"ssh_url: bad SSH URL {url!r}: {e}") from None
    if parts.scheme != "ssh":
        raise HarnessError(f"ssh_url: bad SSH URL {url!r}: scheme must be ssh, not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise HarnessError(f"ssh_url: bad SSH URL {url!r}: no host")
    if parts.password is not None:
        raise HarnessError("ssh_url: no password in an SSH URL: the SSH transport authenticates with ssh_key")
    if parts.query or parts.fragment:
        raise HarnessError(f"ssh_url: bad SSH URL {url!r}: no query or fragment allowed")
    return urllib.parse.urlunsplit(("ssh", parts.netloc, parts.path.rstrip("/") + "/", "", ""))


def normalize_backend_url(url: str) -> str:
    """A node's own URL (backends): a target URL, named as a backend in its errors."""
    try:
        return normalize_url(url)
    except HarnessError as e:
        raise HarnessError(f"backends: {e}") from None


def _strip_userinfo(parts) -> str:
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def load_config(path: str | os.PathLike) -> dict:
    """Read targets.toml; errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"config file {p} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HarnessError(f"config file {p} unreadable: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise HarnessError(f"malformed config {p}: {e}") from None
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise HarnessError(f"malformed config {p}: [targets] must be a table of named targets")
    for name, entry in targets.items():
        if not isinstance(entry, dict):
            raise HarnessError(f"malformed config {p}: targets.{name} must be a table")
        unknown = set(entry) - set(TARGET_KEYS)
        if unknown:
            raise HarnessError(f"malformed config {p}: targets.{name} has unknown key(s) {', '.join(sorted(unknown))}"
                               f" (known: {', '.join(sorted(TARGET_KEYS))})")
        for key, value in entry.items():
            problem = _type_problem(TARGET_KEYS[key], value)
            if problem:
                raise HarnessError(f"{p}: [targets.{name}] {key} {problem}")
        if "policy" in entry:
            parse_policy(entry["policy"], f"{p}: [targets.{name}.policy]")
    return data


def _type_problem(kind: type, value) -> str | None:
    """Why `value` is not of `kind` ("must be true or false, not the string \"false\""), or None."""
    if kind is bool and not isinstance(value, bool):
        return f"must be true or false, not {_kind_of(value)}"
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        return f"must be a positive number, not {_kind_of(value)}"
    if kind is dict and not isinstance(value, dict):
        return f"must be a table, not {_kind_of(value)}"
    if kind is str and not isinstance(value, str):
        return f"must be a string, not {_kind_of(value)}"
    if kind is list:
        if not isinstance(value, list):
            return f"must be a list of strings, not {_kind_of(value)}"
        for i, item in enumerate(value):
            if not isinstance(item, str):
                return f"must be a list of strings, but item {i + 1} is {_kind_of(item)}"
    return None


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return "the string " + json.dumps(value)[:60]
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"  # TOML dates and times


def env_flag(env, name: str) -> bool | None:
    """A boolean environment variable: None when unset or empty, else 1/0/true/false/yes/no (any case)."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return BOOL_WORDS[value.strip().lower()]
    except KeyError:
        raise HarnessError(f"environment variable {name} must be 1/0/true/false/yes/no, not {value!r}") from None


@dataclass
class Target:
    url: str
    site_name: str = "hgweb"
    name: str = ""
    username: str | None = None
    password: Secret | None = None
    api_key: Secret | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    allow_load: bool = False
    allow_load_explicit: bool = False
    allow_destructive: bool | None = None  # pushes, new repositories, users, forks: None = only on loopback
    repos: list[str] = field(default_factory=list)
    fixture_dir: str | None = None
    front: str = ""
    allow_js_errors: bool = False
    header_policy: str = "warn"  # "warn": missing security headers are warnings; "strict": failures
    known_issues: str = "expect"  # known defects of the site software: "expect" (reported apart) or "fail"
    anonymous_push: bool = False  # the site's policy: may anonymous users push?
    embedded: bool = False
    private_repos: list[str] = field(default_factory=list)  # must stay hidden from anonymous users and others
    disable: list[str] = field(default_factory=list)  # site capabilities switched off on purpose (e.g. archives)
    request_deadline: float = 120.0  # seconds for a request's whole answer (a trickling server fails, not hangs)
    max_response_mb: float = 64.0  # the largest body read from the site, in MiB
    # an A/B run's baseline: repository -> the tip both targets served when the run began (set by the run session;
    # the load catalog keeps to that history, as each target then gets changesets of its own)
    common_tips: dict[str, str] | None = None
    # Mercurial over SSH: the URL repositories are under, the private key and the known_hosts file
    ssh_url: str | None = None
    ssh_key: str | None = None
    ssh_known_hosts: str | None = None
    # the nodes behind the public URL (a fleet behind a balancer), each reached directly: the fleet stage of `run`
    # compares what they serve; empty: a single site, the stage is skipped
    backends: list[str] = field(default_factory=list)
    policy: Policy = DEFAULT_POLICY  # CORS, framing, cookie flags, nosniff: what the policy checks hold it to
    # the site's phase policy: pushed changesets become public (a publishing server, Mercurial's default and
    # Kallithea's), or stay draft (phases.publish = False); the push-state checks hold the site to it
    publishing: bool = True

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 2**20)

    def __post_init__(self):
        self.url = normalize_url(self.url)
        self.site = load_site(self.site_name)
        if self.allow_destructive is None:  # unsaid: a loopback target is the harness's own, anything else is not
            self.allow_destructive = self.is_loopback
        if not self.name:
            self.name = self.url
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            raise HarnessError(f"CA bundle {self.ca_bundle} not found")
        if self.ssh_url:
            self.ssh_url = normalize_ssh_url(self.ssh_url)
        for key in ("ssh_key", "ssh_known_hosts"):
            value = getattr(self, key)
            if value and not Path(value).is_file():
                raise HarnessError(f"{key}: file {value} not found")
        self.backends = [normalize_backend_url(u) for u in self.backends]
        if len(set(self.backends)) != len(self.backends):
            raise HarnessError("backends: a node is listed twice")

    # --- building ---
    @classmethod
    def from_options(cls, target: str | None = None, site: str | None = None, config: str | None = None,
                     username: str | None = None, allow_load: bool | None = None, ca_bundle: str | None = None,
                     insecure: bool | None = None, allow_destructive: bool | None = None, env: dict | None = None,
                     **overrides) -> "Target":
        env = os.environ if env is None else env
        target = target or env.get("HGHARNESS_TARGET")
        if not target:
            raise HarnessError("no target: pass --target URL|NAME or set HGHARNESS_TARGET")
        cfg_path = config or env.get("HGHARNESS_CONFIG")
        entry: dict = {}
        name = ""
        if "://" not in target:
            path = cfg_path or DEFAULT_CONFIG
            if not Path(path).exists():
                raise HarnessError(f"target {target!r} is neither a URL nor a name in {path} (file not found)")
            targets = load_config(path).get("targets", {})
            if target not in targets:
                known = ", ".join(sorted(targets)) or "none"
                raise HarnessError(f"target {target!r} is not a URL nor a name in {path} (known: {known})")
            entry, name = dict(targets[target]), target
            if "url" not in entry:
                raise HarnessError(f"malformed config {path}: targets.{target} has no url")
        elif cfg_path and Path(cfg_path).exists():
            load_config(cfg_path)  # validate even when unused: a broken file is reported, not ignored
        url = entry.get("url", target)

        def pick(key, envname, default=None):
            if overrides.get(key) is not None:
                return overrides[key]
            if envname and env.get(envname) not in (None, ""):
                return env[envname]
            return entry.get(key, default)

        password = pick("password", "HGHARNESS_PASSWORD")
        if password is None and entry.get("password_env"):
            password = env.get(entry["password_env"])
            if password is None:
                raise HarnessError(f"targets.{name}.password_env names {entry['password_env']}, which is not set")
        api_key = pick("api_key", "HGHARNESS_API_KEY")
        if api_key is None and entry.get("api_key_env"):
            api_key = env.get(entry["api_key_env"])

        def flag(key, envname, given=None):
            """A boolean: the option, else the environment, else the entry (already type-checked), else None."""
            if given is not None:
                return bool(given)
            value = env_flag(env, envname)
            return entry.get(key) if value is None else value

        explicit_load = flag("allow_load", "HGHARNESS_ALLOW_LOAD", allow_load)
        explicit_destructive = flag("allow_destructive", "HGHARNESS_ALLOW_DESTRUCTIVE", allow_destructive)
        repos = _names(pick("repos", "HGHARNESS_REPOS", []), "repos", name)
        private_repos = _names(pick("private_repos", "HGHARNESS_PRIVATE_REPOS", []), "private_repos", name)
        disable = _names(pick("disable", "HGHARNESS_DISABLE", []), "disable", name)
        deadline = _positive(pick("request_deadline", "HGHARNESS_REQUEST_DEADLINE", 120.0), "request_deadline")
        max_mb = _positive(pick("max_response_mb", "HGHARNESS_MAX_RESPONSE_MB", 64.0), "max_response_mb")
        t = cls(
            url=url,
            site_name=site or env.get("HGHARNESS_SITE") or entry.get("site", "hgweb"),
            name=name,
            username=username or pick("username", "HGHARNESS_USERNAME"),
            password=Secret(password) if password else None,
            api_key=Secret(api_key) if api_key else None,
            ca_bundle=ca_bundle or pick("ca_bundle", "HGHARNESS_CA_BUNDLE"),
            insecure=bool(flag("insecure", "HGHARNESS_INSECURE", insecure)),
            repos=list(repos),
            fixture_dir=pick("fixture_dir", "HGHARNESS_FIXTURE_DIR"),
            front=pick("front", "HGHARNESS_FRONT", ""),
            allow_js_errors=bool(flag("allow_js_errors", "HGHARNESS_ALLOW_JS_ERRORS")),
            header_policy=pick("header_policy", "HGHARNESS_HEADER_POLICY", "warn"),
            known_issues=pick("known_issues", "HGHARNESS_KNOWN_ISSUES", "expect"),
            anonymous_push=bool(flag("anonymous_push", "HGHARNESS_ANONYMOUS_PUSH")),
            embedded=bool(env_flag(env, "HGHARNESS_EMBEDDED")),
            private_repos=private_repos,
            disable=disable,
            request_deadline=deadline,
            max_response_mb=max_mb,
            ssh_url=pick("ssh_url", "HGHARNESS_SSH_URL"),
            ssh_key=pick("ssh_key", "HGHARNESS_SSH_KEY"),
            ssh_known_hosts=pick("ssh_known_hosts", "HGHARNESS_SSH_KNOWN_HOSTS"),
            backends=_names(pick("backends", "HGHARNESS_BACKENDS", []), "backends", name),
            policy=overrides.get("policy") or (policy_from_env(env[POLICY_ENV]) if env.get(POLICY_ENV) else
                                               parse_policy(entry.get("policy", {}), f"[targets.{name}.policy]")),
            publishing=flag("publishing", "HGHARNESS_PUBLISHING") is not False,
        )
        if t.header_policy not in ("warn", "strict"):
            raise HarnessError(f"header_policy must be 'warn' or 'strict', not {t.header_policy!r}")
        from hgharness.sites.base import ALL_CAPABILITIES

        unknown = [c for c in t.disable if c not in ALL_CAPABILITIES]
        if unknown:
            raise HarnessError(f"disable: unknown capability {unknown[0]!r} (known: {', '.join(ALL_CAPABILITIES)})")
        if t.known_issues not in ("expect", "fail"):
            raise HarnessError(f"known_issues must be 'expect' or 'fail', not {t.known_issues!r}")
        t.allow_load_explicit = bool(explicit_load)
        t.allow_load = t.is_loopback if explicit_load is None else bool(explicit_load)
        t.allow_destructive = t.is_loopback if explicit_destructive is None else bool(explicit_destructive)
        return t

    # --- facts ---
    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def is_loopback(self) -> bool:
        """The site is on this machine: its HTTP host, and its SSH host if it has one."""
        ssh_host = urllib.parse.urlsplit(self.ssh_url).hostname if self.ssh_url else None
        return is_loopback_host(self.host) and (ssh_host is None or is_loopback_host(ssh_host))

    def ssh_problem(self) -> str | None:
        """Why Mercurial over SSH cannot be used with this target (one line naming the setting), or None."""
        if not self.ssh_url:
            return ("the target has no SSH URL: set ssh_url in targets.toml, HGHARNESS_SSH_URL or --ssh-url "
                    "(the embedded hgweb offers one when sshd is installed)")
        if not self.ssh_key:
            return "ssh_key: the SSH transport needs a private key file (ssh_key, HGHARNESS_SSH_KEY or --ssh-key)"
        if not self.ssh_known_hosts:
            return ("ssh_known_hosts: the SSH transport verifies the host key against a known_hosts file "
                    "(ssh_known_hosts, HGHARNESS_SSH_KNOWN_HOSTS or --ssh-known-hosts); it never accepts one blindly")
        return None

    @property
    def prefix(self) -> str:
        """The path prefix of the site ('/' or e.g. '/hg/')."""
        return urllib.parse.urlsplit(self.url).path

    @property
    def verify(self):
        """The `verify` argument for requests: False only with --insecure."""
        if self.insecure:
            return False
        return self.ca_bundle or True

    def can(self, capability: str) -> bool:
        """What the site software offers, less what this deployment switched off (`disable`)."""
        return self.site.can(capability) and capability not in self.disable

    def url_for(self, path: str) -> str:
        """A URL under the target's base; `path` is relative to it (a leading slash is ignored)."""
        return self.url + path.lstrip("/")

    def has_credentials(self) -> bool:
        return bool(self.username and self.password)

    def auth(self):
        return (self.username, self.password.reveal()) if self.has_credentials() else None

    def require_load_allowed(self) -> None:
        if not self.allow_load:
            raise HarnessError(f"refusing load traffic to non-loopback target {self.host}: set allow_load = true "
                               "for it in targets.toml or pass --allow-load if you own it")

    def destructive_refusal(self) -> str | None:
        """Why checks that change state may not run here (one line), or None when they may."""
        if self.allow_destructive:
            return None
        where = "a loopback target that said no" if self.is_loopback else "not loopback"
        return (f"destructive: {self.host} is {where} and destructive checks were not allowed; set "
                "allow_destructive = true in targets.toml, HGHARNESS_ALLOW_DESTRUCTIVE=1 or pass "
                "--allow-destructive if you own it")

    def describe(self) -> dict:
        """A dict safe for reports and logs: no secret values."""
        return {
            "name": self.name, "url": self.url, "site": self.site_name, "front": self.front or None,
            "username": self.username, "password": "set" if self.password else None,
            "tls": self.url.startswith("https://"), "ca_bundle": self.ca_bundle, "insecure": self.insecure,
            "allow_load": self.allow_load, "allow_destructive": self.allow_destructive, "embedded": self.embedded, "repos": self.repos,
            "private_repos": self.private_repos, "disable": self.disable, "ssh_url": self.ssh_url,
            "backends": list(self.backends),
        }

    def __repr__(self):
        return f"Target({self.url!r}, site={self.site_name!r}, user={self.username!r}, password={self.password!r})"

    # --- handing the target to child processes (pytest, locust, workers) ---
    def to_env(self) -> dict[str, str]:
        env = {
            "HGHARNESS_TARGET": self.url, "HGHARNESS_SITE": self.site_name,
            "HGHARNESS_ALLOW_LOAD": "1" if self.allow_load else "0",
            "HGHARNESS_ALLOW_DESTRUCTIVE": "1" if self.allow_destructive else "0",
            "HGHARNESS_INSECURE": "1" if self.insecure else "0",
            "HGHARNESS_ALLOW_JS_ERRORS": "1" if self.allow_js_errors else "0",
            "HGHARNESS_HEADER_POLICY": self.header_policy,
            "HGHARNESS_KNOWN_ISSUES": self.known_issues,
            "HGHARNESS_ANONYMOUS_PUSH": "1" if self.anonymous_push else "0",
            "HGHARNESS_PUBLISHING": "1" if self.publishing else "0",
            "HGHARNESS_EMBEDDED": "1" if self.embedded else "0",
            "HGHARNESS_REQUEST_DEADLINE": f"{self.request_deadline:g}",
            "HGHARNESS_MAX_RESPONSE_MB": f"{self.max_response_mb:g}",
        }
        for key, value in (("HGHARNESS_USERNAME", self.username), ("HGHARNESS_CA_BUNDLE", self.ca_bundle),
                           ("HGHARNESS_FIXTURE_DIR", self.fixture_dir), ("HGHARNESS_FRONT", self.front),
                           ("HGHARNESS_REPOS", ",".join(self.repos)),
                           ("HGHARNESS_PRIVATE_REPOS", ",".join(self.private_repos)),
                           ("HGHARNESS_DISABLE", ",".join(self.disable)), ("HGHARNESS_SSH_URL", self.ssh_url),
                           ("HGHARNESS_SSH_KEY", self.ssh_key), ("HGHARNESS_SSH_KNOWN_HOSTS", self.ssh_known_hosts),
                           ("HGHARNESS_BACKENDS", ",".join(self.backends))):
            if value:
                env[key] = value
        if self.policy != DEFAULT_POLICY:
            env[POLICY_ENV] = self.policy.to_env()
        if self.password:
            env["HGHARNESS_PASSWORD"] = self.password.reveal()
        if self.api_key:
            env["HGHARNESS_API_KEY"] = self.api_key.reveal()
        return env

    def to_json(self) -> str:
        return json.dumps(self.describe())


def _positive(value, key: str) -> float:
    """A positive number from an option, the environment (text) or targets.toml (checked there)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HarnessError(f"{key} must be a positive number, not {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise HarnessError(f"{key} must be a positive number, not {value!r}")
    return number


def _names(value, key: str, target: str) -> list[str]:
    """A list of names: from targets.toml (a list of strings, checked there), an option (a list) or the
    environment (comma-separated)."""
    if isinstance(value, str):
        return [r.strip() for r in value.split(",") if r.strip()]
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise HarnessError(f"{key} for target {target or '?'} must be a list of strings")
    return list(value)


__all__ = ["Target", "KNOWN_SITES", "is_loopback_host", "normalize_url", "load_config"]
