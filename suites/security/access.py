"""What a user can do with a repository, observed through two independent channels: the web pages (a logged-in
session) and the wire protocol (basic auth, as hg sends it)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.suites.support.kallithea_resources import AUTH_REFUSAL, Account, as_user


def web_reads(web, repo: str, tip: str | None) -> list[str]:
    """Pages of `repo` that the session can read (HTTP 200); a hidden repository gives an empty list.

    A refusal is a redirect to the login page, 401, 403 or 404; anything else is a failure of its own.
    """
    kinds = [("summary", {}), ("log", {}), ("manifest", {"rev": tip or "tip"}), ("atom_log", {})]
    if tip:
        kinds += [("rev", {"rev": tip}), ("archive", {"rev": tip, "fmt": "zip"})]
    readable = []
    for kind, kw in kinds:
        r = web.get(kind, repo, **kw)
        if r.status_code == 200:
            readable.append(kind)
        else:
            refused = r.status_code in (401, 403, 404) or (
                r.status_code == 302 and "login" in r.headers.get("Location", ""))
            assert refused, f"{kind} of {repo}: unexpected HTTP {r.status_code} (neither shown nor refused)"
    return readable


def index_lists(web, repo: str) -> bool:
    r = web.get("index", follow=True)
    assert r.status_code == 200, f"index: HTTP {r.status_code}"
    return re.search(r"(?<![\w.-])" + re.escape(repo) + r"(?![\w.-])", r.text) is not None


def wire_reads(target, repo: str, account: Account | None, http) -> bool:
    """Whether the wire protocol serves `repo` to the account (basic auth, as hg sends it)."""
    auth = (account.name, account.password.reveal()) if account else None
    r = http.get(target.url_for(target.site.route("capabilities", repo)), headers=target.site.WIRE_HEADERS,
                 auth=auth, timeout=60)
    if r.status_code == 200:
        return "unbundle" in r.text or "batch" in r.text
    assert r.status_code in (401, 403, 404), f"capabilities of {repo}: unexpected HTTP {r.status_code}"
    return False


def clone_nodes(target, repo: str, account: Account | None, dest: Path) -> list[str] | None:
    """The changesets a clone by the account gets, or None when the site refuses the clone."""
    try:
        local = hg.clone(as_user(target, account), repo, dest, auth=account is not None)
    except HarnessError as e:
        shutil.rmtree(dest, ignore_errors=True)
        if AUTH_REFUSAL.search(str(e)) or "not found" in str(e).lower():
            return None
        raise
    return hg.nodes(local)


