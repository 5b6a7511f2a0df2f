"""Server state on a hosting site (accounts, repositories, forks), made through its API for the checks that need it,
with names unique to the run, and removed afterwards (GitLab QA's resources). Used by the headless, security and
functional suites, whose conftests or test modules import the fixtures they use.

The target's private_repos (targets.toml, or HGHARNESS_PRIVATE_REPOS comma-separated) are meant to be private: the
checks then verify those instead of a private repository they create, which is how a repository made public by
mistake is caught (the API would happily report the mistake as the truth).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path

import pytest

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.secrets import Secret

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


def smallest_repo(fixture_repos: dict) -> tuple[str, Path]:
    """(name, local path) of the fixture repository with the fewest changesets: the cheapest to copy."""
    return min(fixture_repos.items(), key=lambda kv: len(hg.open_repo(kv[1])))


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def admin_api(target):
    """The site adapter, whose API calls need the target's admin API key."""
    if not target.api_key:
        pytest.skip("needs an admin API key for the site: set HGHARNESS_API_KEY (or api_key_env in targets.toml)")
    return target.site


@pytest.fixture(scope="session")
def user(target):
    """(name, password) of the target's user."""
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    return target.username, target.password


@pytest.fixture(scope="session")
def site_admin(admin_api, user):
    """The site adapter, for checks that need both the API and the target's user."""
    return admin_api


@pytest.fixture(scope="session")
def run_tag() -> str:
    return secrets.token_hex(3)


@pytest.fixture
def unique():
    """unique("prefix") -> a name no other run uses."""
    return lambda prefix: f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def cleanup(target):
    """cleanup(repo_name): delete that repository through the API after the test (in reverse order: forks first)."""
    names = []
    yield names.append
    for name in reversed(names):
        try:
            target.site.delete_repo(target, name)
        except Exception:  # the test may have failed before creating it
            pass


@pytest.fixture(scope="session")
def other_user(target, site_admin, run_tag):
    """A second, ordinary user with no permission of its own."""
    account = Account(f"hgh-other-{run_tag}", Secret(secrets.token_urlsafe(15)))
    site_admin.create_user(target, account.name, account.password)
    yield account
    site_admin.delete_user(target, account.name)


def _scratch_repo(target, site_admin, fixture_repos, name: str, private: bool):
    from hgharness.kallithea.provision import push

    _src, local = smallest_repo(fixture_repos)
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


@pytest.fixture(scope="module")
def fork(target, site_admin, fixture_repos, run_tag):
    """(upstream, fork): a fork of the smallest fixture repository, owned by the target's user."""
    upstream, _path = smallest_repo(fixture_repos)
    name = f"hgh-fork-{run_tag}"
    site_admin.api(target).fork_repo(upstream, name, owner=target.username)
    yield upstream, name
    site_admin.delete_repo(target, name)


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


# --- changes through the wire protocol ---------------------------------------------------------------------------

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
