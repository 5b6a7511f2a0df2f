"""Kallithea's JSON-RPC API (POST <base>/_admin/api): repositories, users, permissions, forks, pull requests.

Every call sends {"id", "api_key", "method", "args"}; the answer is {"id", "result", "error"}. The API key is a
Secret: it is sent in the request body only, and every error message is redacted. A call the server refuses
raises KallitheaAPIError (a HarnessError: provisioning could not be done); checks that expect a refusal catch it.
Kallithea 0.7.0 has no API call to open a pull request: see hgharness/kallithea/web.py.
"""

from __future__ import annotations

import itertools

import requests

from hgharness.errors import HarnessError
from hgharness.secrets import Secret, redact

PERMS = ("repository.none", "repository.read", "repository.write", "repository.admin")
ANONYMOUS = "default"  # Kallithea's user for anonymous visitors and the default of every user


class KallitheaAPIError(HarnessError):
    def __init__(self, method: str, message: str):
        super().__init__(f"Kallithea API {method}: {message}")
        self.method = method
        self.detail = redact(str(message))


class KallitheaAPI:
    def __init__(self, base_url: str, api_key: Secret | str, verify=None, session: requests.Session | None = None,
                 timeout: float = 120):
        self.url = base_url.rstrip("/") + "/_admin/api"
        self.api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self.session = session or requests.Session()
        if verify is not None:
            self.session.verify = verify
        self.timeout = timeout
        self._ids = itertools.count(1)

    @classmethod
    def for_target(cls, target, api_key: Secret | None = None) -> "KallitheaAPI":
        key = api_key or target.api_key
        if not key:
            raise HarnessError(f"target {target.url}: the Kallithea API needs an API key (HGHARNESS_API_KEY, or "
                               "api_key_env in targets.toml)")
        from hgharness.http import session

        return cls(target.url, key, session=session(target))  # the target's CA, --insecure and proxies

    def call(self, method: str, **args):
        """The `result` of one call; KallitheaAPIError when the server answers with an error."""
        args = {k: v for k, v in args.items() if v is not None}
        body = {"id": next(self._ids), "api_key": self.api_key.reveal(), "method": method, "args": args}
        try:
            r = self.session.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as e:
            raise KallitheaAPIError(method, f"cannot reach {self.url}: {type(e).__name__}") from None
        if r.status_code != 200:
            raise KallitheaAPIError(method, f"HTTP {r.status_code} from {self.url}")
        try:
            data = r.json()
        except ValueError:
            raise KallitheaAPIError(method, f"{self.url} did not answer JSON (is it a Kallithea site?)") from None
        if data.get("error"):
            raise KallitheaAPIError(method, str(data["error"]))
        return data.get("result")

    # --- server ---
    def server_info(self) -> dict:
        return self.call("get_server_info")

    # --- users ---
    def get_users(self) -> list[dict]:
        return self.call("get_users")

    def get_user(self, userid=None) -> dict:
        return self.call("get_user", userid=userid)

    def create_user(self, username: str, password: Secret | str, email: str | None = None, admin: bool = False,
                    firstname: str = "", lastname: str = "") -> dict:
        pw = password.reveal() if isinstance(password, Secret) else password
        return self.call("create_user", username=username, password=pw, email=email or f"{username}@example.org",
                         admin=admin, firstname=firstname, lastname=lastname, active=True)["user"]

    def update_user(self, userid, **fields) -> dict:
        return self.call("update_user", userid=userid, **fields)

    def delete_user(self, userid) -> dict:
        return self.call("delete_user", userid=userid)

    # --- repositories ---
    def get_repos(self) -> list[dict]:
        return self.call("get_repos")

    def get_repo(self, repoid) -> dict:
        return self.call("get_repo", repoid=repoid)

    def create_repo(self, name: str, owner: str | None = None, private: bool = False, description: str = "",
                    enable_downloads: bool | None = None) -> dict:
        """Create an empty Mercurial repository (and the repository groups its name needs)."""
        parts = name.split("/")
        for i in range(1, len(parts)):
            self.ensure_repo_group("/".join(parts[:i]))
        out = self.call("create_repo", repo_name=name, owner=owner, repo_type="hg", private=private,
                        description=description or name)
        if enable_downloads is not None:
            # create_repo takes the flag but 0.7.0 ignores it; update_repo does not
            self.update_repo(name, enable_downloads=enable_downloads)
        return out

    def ensure_repo_group(self, group: str) -> None:
        names = {g["group_name"] for g in self.call("get_repo_groups")}
        if group not in names:
            parent, _, short = group.rpartition("/")
            self.call("create_repo_group", group_name=short, parent=parent or None)

    def update_repo(self, repoid, **fields) -> dict:
        """Fields: name, owner, description, private, landing_rev, enable_statistics, enable_downloads."""
        return self.call("update_repo", repoid=repoid, **fields)

    def set_private(self, repoid, private: bool) -> dict:
        """Kallithea's private flag: setting it resets the anonymous ('default') permission to none, clearing it
        changes nothing else (the repository stays hidden). make_public() is what "public" means."""
        return self.update_repo(repoid, private=private)

    def make_public(self, repoid) -> None:
        self.set_private(repoid, False)
        self.grant_user_permission(repoid, ANONYMOUS, "repository.read")

    def delete_repo(self, repoid, forks: str = "delete") -> dict:
        return self.call("delete_repo", repoid=repoid, forks=forks)

    def fork_repo(self, repoid, fork_name: str, owner: str | None = None, private: bool = False,
                  description: str = "") -> dict:
        return self.call("fork_repo", repoid=repoid, fork_name=fork_name, owner=owner, private=private,
                         description=description or f"fork of {repoid}")

    def changesets(self, repoid, start=None, end=None, max_revisions=None) -> list[dict]:
        return self.call("get_changesets", repoid=repoid, start=start, end=end, max_revisions=max_revisions)

    # --- permissions ---
    def grant_user_permission(self, repoid, userid, perm: str) -> dict:
        if perm not in PERMS:
            raise ValueError(f"unknown permission {perm!r} (known: {', '.join(PERMS)})")
        return self.call("grant_user_permission", repoid=repoid, userid=userid, perm=perm)

    def revoke_user_permission(self, repoid, userid) -> dict:
        return self.call("revoke_user_permission", repoid=repoid, userid=userid)

    def repo_permissions(self, repoid) -> dict[str, str]:
        """user name -> permission on the repository, as the API reports it ('default' is anonymous/everyone)."""
        members = self.get_repo(repoid).get("members", [])
        return {m["name"]: m["permission"] for m in members if m.get("type") == "user"}

    # --- pull requests (created through the web: hgharness.kallithea.web) ---
    def get_pullrequest(self, pull_request_id: int) -> dict:
        return self.call("get_pullrequest", pullrequest_id=pull_request_id)

    def comment_pullrequest(self, pull_request_id: int, text: str = "", status: str | None = None,
                            close: bool = False) -> bool:
        """status: approved | rejected | under_review | not_reviewed."""
        return self.call("comment_pullrequest", pull_request_id=pull_request_id, comment_msg=text, status=status,
                         close_pr=close)

    def edit_reviewers(self, pull_request_id: int, add=None, remove=None) -> dict:
        return self.call("edit_reviewers", pull_request_id=pull_request_id, add=add, remove=remove)
