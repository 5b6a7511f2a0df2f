"""A logged-in Kallithea web session, for what the JSON-RPC API cannot do (open a pull request, comment from the
web) and for checks of the login itself.

Kallithea's web pages take no basic auth: a user logs in through the login form, which (like every form) carries
`_session_csrf_secret_token`; the session cookie then identifies the user. Comment posts are AJAX endpoints that
answer only with the header `X-Partial-XHR: 1`. A pull request with no new changesets is refused.
"""

from __future__ import annotations

import re

import requests

from hgharness.errors import HarnessError
from hgharness.secrets import Secret, register

CSRF = "_session_csrf_secret_token"
_TOKEN = re.compile(r'<input[^>]*name="' + CSRF + r'"[^>]*>')
_VALUE = re.compile(r'value="([^"]*)"')
_PR_ID = re.compile(r"/pull-request/(\d+)")
_API_KEY = re.compile(r"api_key=([0-9a-f]{40})")


def csrf_token(html: str) -> str:
    m = _TOKEN.search(html)
    v = _VALUE.search(m.group(0)) if m else None
    if not v:
        raise HarnessError(f"no {CSRF} in the page: not a Kallithea form page?")
    return v.group(1)


class KallitheaWeb:
    def __init__(self, target, session: requests.Session | None = None):
        from hgharness.http import session as new_session

        self.target = target
        self.site = target.site
        self.http = session or new_session(target)
        self.username: str | None = None

    def url(self, kind: str, repo: str | None = None, **kw) -> str:
        return self.target.url_for(self.site.route(kind, repo, **kw))

    def get(self, kind: str, repo: str | None = None, follow: bool = False, **kw) -> requests.Response:
        return self.http.get(self.url(kind, repo, **kw), allow_redirects=follow, timeout=60)

    def token(self) -> str:
        """The session's CSRF token, from the endpoint Kallithea offers for automation (same value as the forms)."""
        r = self.http.get(self.target.url_for("_admin/session_csrf_secret_token"), timeout=60)
        if r.status_code != 200 or not r.text.strip().isalnum():
            raise HarnessError(f"no CSRF token from {self.target.url}: HTTP {r.status_code}")
        return r.text.strip()

    # --- accounts ---
    def login(self, username: str, password: Secret | str) -> bool:
        """True when the site accepted the credentials (it redirects away from the login form)."""
        pw = password.reveal() if isinstance(password, Secret) else password
        r = self.http.post(self.url("login"), data={"username": username, "password": pw, CSRF: self.token()},
                           allow_redirects=False, timeout=60)
        ok = r.status_code == 302 and "/_admin/login" not in r.headers.get("Location", "")
        self.username = username if ok else None
        if ok:
            self.learn_api_key()
        return ok

    def learn_api_key(self) -> None:
        """Kallithea puts the logged-in user's API key into feed links of its pages: register it as a secret so
        that saved pages (failure artifacts) and reports never show it."""
        page = self.http.get(self.url("index"), timeout=60).text
        for key in set(_API_KEY.findall(page)):
            register(key)

    def logout(self) -> None:
        self.http.post(self.url("logout"), data={CSRF: self.token()}, allow_redirects=False, timeout=60)
        self.username = None

    def logged_in(self) -> bool:
        """Asked of the site, not remembered: only a logged-in user may open My Account."""
        return self.get("my_account").status_code == 200

    # --- pull requests and comments ---
    def create_pull_request(self, org_repo: str, other_repo: str, title: str, description: str = "",
                            org_branch: str = "default", other_branch: str = "default") -> int:
        """Open a pull request from `org_repo` (e.g. a fork) to `other_repo`; returns its id.

        The refs are taken from the new-pull-request form, so they are exactly what the UI would send.
        """
        page = self.http.get(self.url("pull_request_new", org_repo), timeout=60)
        if page.status_code != 200:
            raise HarnessError(f"pull request form of {org_repo}: HTTP {page.status_code}")
        org_ref = _option(page.text, "org_ref", f"branch:{org_branch}:")
        info = self.http.get(self.target.url_for(f"{self.site.repo_path(other_repo)}/pull-request-repo-info"),
                             timeout=60)
        other_ref = _other_ref(info, other_branch) if info.status_code == 200 else None
        if not other_ref:
            raise HarnessError(f"no branch {other_branch!r} to target in {other_repo}")
        data = {"org_repo": org_repo, "org_ref": org_ref, "other_repo": other_repo, "other_ref": other_ref,
                "pullrequest_title": title, "pullrequest_desc": description, CSRF: csrf_token(page.text)}
        r = self.http.post(self.url("pull_request_new", org_repo), data=data, allow_redirects=False, timeout=120)
        m = _PR_ID.search(r.headers.get("Location", ""))
        if r.status_code != 302 or not m:
            raise HarnessError(f"Kallithea refused the pull request {org_repo} -> {other_repo}: HTTP "
                               f"{r.status_code} (a pull request needs changesets the target does not have)")
        return int(m.group(1))

    def comment_pull_request(self, repo: str, pr_id: int, text: str, status: str | None = None,
                             close: bool = False) -> requests.Response:
        """status: approved | rejected | under_review. The repository is the pull request's target."""
        data = {"text": text, CSRF: self.token()}
        if status:
            data["changeset_status"] = status
        if close:
            data["save_close"] = "close"
        return self.http.post(self.url("pull_request_comment", repo, rev=str(pr_id)), data=data,
                              headers={"X-Partial-XHR": "1"}, allow_redirects=False, timeout=60)

    def comment_changeset(self, repo: str, rev: str, text: str, path: str | None = None,
                          line: str | None = None) -> requests.Response:
        data = {"text": text, CSRF: self.token()}
        if path:
            data.update(f_path=path, line=line or "n1")
        return self.http.post(self.url("changeset_comment", repo, rev=rev), data=data,
                              headers={"X-Partial-XHR": "1"}, allow_redirects=False, timeout=60)


def _option(html: str, select: str, prefix: str) -> str:
    """The value of the first <option> of <select name=...> that starts with prefix."""
    m = re.search(r'<select[^>]*name="' + re.escape(select) + r'"[^>]*>(.*?)</select>', html, re.S)
    if m:
        for value in re.findall(r'<option[^>]*value="([^"]*)"', m.group(1)):
            if value.startswith(prefix):
                return value
    raise HarnessError(f"the pull request form offers no {prefix.rstrip(':')} in {select}")


def _other_ref(info: requests.Response, branch: str) -> str | None:
    """From the target repository's pull-request-repo-info: {"refs": [[[value, label], ...], group label], ...]}."""
    try:
        groups = info.json().get("refs", [])
    except ValueError:
        return None
    for options, _label in groups:
        for value, _text in options:
            if value.startswith(f"branch:{branch}:"):
                return value
    return None
