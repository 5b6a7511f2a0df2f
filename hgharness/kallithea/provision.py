"""Put fixture repositories onto a Kallithea site: create each through the API, push it with Mercurial
(in-process; credentials through [auth] config, never in a URL), then turn its downloads on.

Works on any Kallithea target with an admin API key, not only the embedded one.
"""

from __future__ import annotations

from pathlib import Path

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.kallithea_api import KallitheaAPI


def push(target, local_path: str | Path, repo: str, force: bool = False) -> None:
    """Push every changeset and bookmark of a local repository to `repo` on the target, as target.username."""
    from mercurial import exchange

    local = hg.open_repo(local_path, target)
    remote = hg.peer(target, repo)
    try:
        with hg.quiet_ui_errors(f"push of {repo} to {target.url} failed"):
            op = exchange.push(local, remote, force=force, newbranch=True, bookmarks=list(local._bookmarks))
    finally:
        remote.close()
    if op.cgresult == 0:  # None: nothing to push; 0: the server refused the changegroup
        raise HarnessError(f"push of {repo} to {target.url} was refused")


def provision(target, api: KallitheaAPI, repos: dict[str, Path], owner: str | None = None, private: bool = False,
              progress=None) -> list[str]:
    """Create each repository (name -> local path) the site does not have yet, and push it (a no-op when the
    site is up to date). The owner (default target.username) gets admin rights on them, so the target's user
    can push.

    A repository the site already has gets the same rights and downloads: a Kallithea restarted on kept
    repositories with a new database finds them by scanning, owned by the admin with downloads off (the push
    user was then refused with 403, and every archive answered an HTML page).
    """
    existing = {r["repo_name"] for r in api.get_repos()}
    who = owner or target.username
    for name, path in repos.items():
        if progress:
            progress(f"provisioning {name} on {target.url}")
        if name not in existing:
            api.create_repo(name, owner=who, private=private, enable_downloads=True)
        else:
            api.grant_user_permission(name, who, "repository.admin")
            api.update_repo(name, enable_downloads=True)
        push(target, path, name)
    return list(repos)
