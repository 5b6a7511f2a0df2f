"""The simulated users: plain FastHttpUsers with weighted actions, every URL drawn from the fixture catalog.

Each task is exactly one request, named by its action (`name=`), so templated URLs group in Locust's statistics
under the same names the headless checks and Selenium steps use, and users x pace is the target request rate.
The target, its TLS settings and the catalog are set by `configure()` (load/collect.py calls it at Locust's init).
"""

from __future__ import annotations

import itertools
import random

from locust import FastHttpUser, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser

from hgharness import __version__
from hgharness.load import bounded
from hgharness.load.pairing import BaselineEvents, paired

USER_AGENT = f"hgharness-load/{__version__}"


class CatalogUser(FastHttpUser):
    """Picks an action by weight, then one of the catalog's URLs for that action, and GETs it."""

    abstract = True
    actions: dict[str, int] = {}
    network_timeout = 60.0
    connection_timeout = 30.0
    deadline_s = 120.0             # the whole answer of one request (the target's request_deadline)
    max_bytes = 64 * 2**20         # the largest body read (the target's max_response_mb)
    _deck: list[str] = []          # action names repeated by weight: one random.choice per task
    _paths: dict[str, list[str]] = {}
    _picks: dict[str, tuple] = {}  # a derived mix: action -> (paths per repository, cumulative rank weights)
    _baseline = None               # A/B runs: the baseline Target
    _baseline_tls: dict = {}

    def on_start(self):
        if not self._deck:
            raise StopUser()  # the site has none of this user's pages (e.g. no JSON views)
        # one client per simulated user, as a site's access log tells its visitors apart (address and agent: all
        # of a load generator's users share its address); it also names harness traffic in the site's logs
        self.client.client.default_headers["User-Agent"] = f"{USER_AGENT} (load user {random.getrandbits(40):010x})"
        self.base_client = None
        if self._baseline is not None:
            self.base_client = FastHttpSession(
                base_url=self._baseline.url, request_event=BaselineEvents(self.environment.events.request),
                user=self, network_timeout=self.network_timeout, connection_timeout=self.connection_timeout,
                max_redirects=self.max_redirects, max_retries=self.max_retries, concurrency=self.concurrency,
                headers={**(self.default_headers or {}), "User-Agent": self.client.client.default_headers["User-Agent"]},
                **self._baseline_tls)

    @task
    def act(self):
        name = random.choice(self._deck)
        pick = self._picks.get(name)
        if pick is None:
            what = random.choice(self._paths[name])  # the same URL on both sides of an A/B pair
        else:  # a repository by its popularity, then one of its URLs
            what = random.choice(random.choices(pick[0], cum_weights=pick[1])[0])
        paired(self.client, self.base_client, lambda client, context: self.fetch(client, name, what, context))

    def fetch(self, client, name: str, path: str, context: dict | None) -> None:
        self.bounded(client, "GET", path, name, context)

    def bounded(self, client, method: str, path: str, name: str, context: dict | None, **kwargs) -> None:
        bounded.request(client, method, path, name=name, context=context or {}, deadline_s=self.deadline_s,
                        max_bytes=self.max_bytes, **kwargs)


class AnonymousBrowser(CatalogUser):
    """A person reading the site without logging in: front pages, history, changesets, files, archives."""

    actions = {"index": 2, "summary": 4, "log": 5, "shortlog": 2, "graph": 2, "changeset": 6, "manifest": 3,
               "file": 5, "raw_file": 2, "annotate": 1, "tags": 1, "branches": 1, "archive": 1}


class ApiClient(CatalogUser):
    """A script reading the JSON views and, on a site with an API (Kallithea's JSON-RPC), calling it."""

    actions = {"json_index": 1, "json_log": 4, "json_rev": 4, "json_tags": 1, "json_branches": 1,
               "json_bookmarks": 1, "api_get_repos": 1, "api_get_repo": 3, "api_get_changesets": 3}
    _api_path = ""
    _api_calls: dict[str, list[dict]] = {}
    _api_key = None
    _base_api_key = None

    def fetch(self, client, name: str, what, context: dict | None) -> None:
        if name not in self._api_calls:
            super().fetch(client, name, what, context)
            return
        key = self._base_api_key if client is self.base_client else self._api_key
        body = {"id": 1, "api_key": key.reveal(), "method": what["method"], "args": what["args"]}
        # identity: the answer is read here as it comes (a compressed one would need inflating, bounded)
        self.bounded(client, "POST", self._api_path, name, context, json=body, check=_api_answer,
                     headers={"Accept-Encoding": "identity"})


def _api_answer(r, body: bytes) -> None:
    import json

    if r.status_code != 200:
        r.failure(f"HTTP {r.status_code}")
        return
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        r.failure("the API did not answer JSON")
        return
    if error:  # JSON-RPC errors come with HTTP 200
        r.failure(f"API error: {str(error)[:200]}")


class CIBot(CatalogUser):
    """A build machine: polls json-log and feeds for new changesets, fetches build files, downloads archives."""

    actions = {"json_log": 6, "atom_log": 2, "raw_file": 3, "archive": 1}


try:
    from hgharness.load.hguser import HgUser
except ImportError:  # the push-traffic user is not in this build: mixes naming Developer are refused
    HgUser = None

if HgUser is not None:
    class Developer(HgUser):
        """A developer cloning, pulling and pushing over the wire protocol (request_type "hg")."""

    USER_CLASSES = (AnonymousBrowser, ApiClient, CIBot, Developer)
else:
    Developer = None
    USER_CLASSES = (AnonymousBrowser, ApiClient, CIBot)


def configure(target, catalog: dict | None, baseline=None) -> None:
    """Point every user class at the target (base URL, TLS) and give the HTTP users their URL deck; with a
    baseline (A/B runs), every task is made against both."""
    from hgharness.load.tls import fast_http_tls

    tls = fast_http_tls(target)
    base_tls = fast_http_tls(baseline) if baseline is not None else {}
    for cls in (AnonymousBrowser, ApiClient, CIBot):
        cls.host = target.url
        cls.insecure = tls["insecure"]
        cls.ssl_context_factory = tls["ssl_context_factory"]
        cls._baseline, cls._baseline_tls = baseline, base_tls
        cls.deadline_s, cls.max_bytes = target.request_deadline, target.max_response_bytes
        paths = dict((catalog or {}).get("actions", {}))
        api = (catalog or {}).get("api")
        if cls is ApiClient and api and target.api_key and (baseline is None or baseline.api_key):
            cls._api_path, cls._api_calls, cls._api_key = api["path"], api["calls"], target.api_key
            cls._base_api_key = baseline.api_key if baseline is not None else None
            paths.update(api["calls"])  # API actions draw calls, not paths
        cls._paths = paths
        cls._picks = {}
        set_actions(cls, {})
    global _catalog_repos
    _catalog_repos = list((catalog or {}).get("repos") or [])
    if Developer is not None and not getattr(Developer, "host", None):
        Developer.host = target.url


def set_actions(cls, overrides: dict[str, int]) -> None:
    """The class's deck: its action weights (a mix may override some) for the actions the catalog has."""
    weights = {**cls.actions, **overrides}
    cls._deck = [name for name, weight in weights.items() if cls._paths.get(name) for _ in range(weight)]


def _by_repository(paths: list[str], names: list[str], q) -> dict[str, list[str]] | None:
    """paths grouped by the repository they lie in (names: longest first); None when one is a site-wide page
    (the index): no repository to weigh."""
    groups: dict[str, list[str]] = {}
    for p in paths:
        owner = next((n for n in names if p == q(n) or p.startswith((q(n) + "/", q(n) + "?"))), None)
        if owner is None:
            return None
        groups.setdefault(owner, []).append(p)
    return groups


_catalog_repos: list[str] = []  # the target's repositories (catalog order): popularity rank k is the k-th


def set_repo_weights(weights: list[int]) -> None:
    """Requests spread over the repositories by a derived mix's popularity ranks (empty: every URL alike)."""
    from hgharness.load.mixes import rank_weights
    from hgharness.sites.base import q

    by_repo = rank_weights(_catalog_repos, weights)
    # the longest name first: a repository nested in another's folder is its own
    names = sorted((n for n, w in by_repo.items() if w > 0), key=len, reverse=True)
    for cls in (AnonymousBrowser, ApiClient, CIBot):
        cls._picks = {}
        if not names:
            continue
        for action, paths in cls._paths.items():
            if action in getattr(cls, "_api_calls", {}):
                continue  # API calls name their repository in the body
            groups = _by_repository(paths, names, q)
            if groups:
                keys = sorted(groups)
                cls._picks[action] = ([groups[k] for k in keys], list(itertools.accumulate(by_repo[k] for k in keys)))
    if Developer is not None:
        Developer.repo_weights = (list(by_repo), list(by_repo.values())) if names else None


def set_pace(cls, tasks_per_second: float) -> None:
    """Locust's constant_throughput: a user runs at most this many tasks per second; 0: no pause."""
    from locust import constant, constant_throughput

    cls.wait_time = constant_throughput(tasks_per_second) if tasks_per_second > 0 else constant(0)
