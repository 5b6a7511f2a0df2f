"""Fixtures and observers for the account and permission checks (sites with "accounts"/"permissions" and an API).

State is created through the site's API with names unique to the run, and removed afterwards. What a user can
do is observed through two independent channels: the web pages (a logged-in session) and the wire protocol
(basic auth, as hg sends it).

The target's private_repos (targets.toml, or HGHARNESS_PRIVATE_REPOS comma-separated) are meant to be private: the
checks then verify those instead of a private repository they create, which is how a repository made public by
mistake is caught (the API would happily report the mistake as the truth).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import shutil
from pathlib import Path

import pytest

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.secrets import Secret

WIRE = {"Accept": "application/mercurial-0.1"}  # the media type hg sends; some sites check it
AUTH_REFUSAL = re.compile(r"authorization required|authorization failed|forbidden|unauthorized", re.I)


@dataclasses.dataclass
class Account:
    name: str
    password: Secret


@dataclasses.dataclass
class Repo:
    name: str
    created: bool              # created by these checks (so they may push into it and must delete it)
    local: Path | None = None  # local repository with the same history, when known


def as_user(target, account: Account | None):
    """The target seen by another user (None: anonymous)."""
    if account is None:
        return dataclasses.replace(target, username=None, password=None)
    return dataclasses.replace(target, username=account.name, password=account.password)


def owner(target) -> Account:
    return Account(target.username, target.password)


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def site_admin(target):
    if not target.api_key:
        pytest.skip("needs an admin API key for the site: set HGHARNESS_API_KEY (or api_key_env in targets.toml)")
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    return target.site


@pytest.fixture(scope="session")
def run_tag() -> str:
    return secrets.token_hex(3)


@pytest.fixture(scope="session")
def other_user(target, site_admin, run_tag):
    """A second, ordinary user with no permission of its own."""
    account = Account(f"hgh-other-{run_tag}", Secret(secrets.token_urlsafe(15)))
    site_admin.create_user(target, account.name, account.password)
    yield account
    site_admin.delete_user(target, account.name)


def _smallest(fixture_repos: dict) -> tuple[str, Path]:
    return min(fixture_repos.items(), key=lambda kv: len(hg.open_repo(kv[1])))


def _scratch_repo(target, site_admin, fixture_repos, name: str, private: bool):
    from hgharness.kallithea.provision import push

    _src, local = _smallest(fixture_repos)
    site_admin.create_repo(target, name, private=private)
    try:
        push(target, local, name)
    except BaseException:
        site_admin.delete_repo(target, name)
        raise
    return Repo(name, created=True, local=Path(local))


@pytest.fixture(scope="session")
def private_repos(target, site_admin, fixture_repos, run_tag):
    """The repositories that must be private: declared ones, else one created (and pushed) for the run."""
    declared = list(target.private_repos)
    if declared:
        yield [Repo(name, created=False, local=fixture_repos.get(name)) for name in declared]
        return
    repo = _scratch_repo(target, site_admin, fixture_repos, f"hgh-private-{run_tag}", private=True)
    yield [repo]
    site_admin.delete_repo(target, repo.name)


@pytest.fixture(scope="session")
def public_scratch(target, site_admin, fixture_repos, run_tag):
    """A public repository the checks may try to push into."""
    repo = _scratch_repo(target, site_admin, fixture_repos, f"hgh-public-{run_tag}", private=False)
    yield repo
    site_admin.delete_repo(target, repo.name)


@pytest.fixture
def web_as(target):
    """web_as(account or None) -> a web session logged in as that account (None: anonymous)."""
    sessions = []

    def make(account: Account | None):
        w = target.site.web(target)
        sessions.append(w)
        if account is not None:
            assert w.login(account.name, account.password), f"login as {account.name} refused"
        return w

    yield make
    for w in sessions:
        w.http.close()


# --- observers -------------------------------------------------------------------------------------------------

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
    r = http.get(target.url_for(target.site.route("capabilities", repo)), headers=WIRE, auth=auth, timeout=60)
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


def try_push(target, local: Path, repo: str, account: Account | None) -> str | None:
    """Push as the account: None when accepted, else the reason of the refusal."""
    from hgharness.kallithea.provision import push

    try:
        push(as_user(target, account), local, repo)
    except HarnessError as e:
        if AUTH_REFUSAL.search(str(e)):
            return str(e)
        raise
    return None


def new_commit(local: Path, text: bytes) -> str:
    """Commit one new file on top of the default branch of a local repository; returns the node (hex)."""
    from mercurial import context

    repo = hg.open_repo(local)
    parent = repo.branchmap().branchtip(b"default") if b"default" in repo.branchmap() else None  # None: empty
    name = b"hgharness-%s.txt" % secrets.token_hex(4).encode()
    ctx = context.memctx(repo, (parent, None), b"hgharness permission check", [name],
                         lambda r, m, p: context.memfilectx(r, m, p, text), user=b"hgharness <hgharness@localhost>")
    with repo.wlock(), repo.lock():
        return repo.commitctx(ctx).hex()
