"""A Locust user speaking Mercurial's wire protocol: clone, pull, push in-process (hgharness.hgclient).

Every operation fires Locust's request event with request_type "hg" and name "clone" | "pull" | "push", so
Mercurial traffic shows in the same statistics as the web pages. The target comes from the environment
(HGHARNESS_TARGET, HGHARNESS_USERNAME, HGHARNESS_PASSWORD, ... : Target.from_options()), the repository from
HGHARNESS_TRAFFIC_REPO, else the target's first repository (HGHARNESS_REPOS, else the site's index).

A push is one developer push: commit one to three realistic changes, push; when another push won the race,
pull, rebase and push again (bounded retries). Attempts turned away by a race are not failures (they are
counted in `races`); a push still raced after every retry is reported as a failure named "gave up".

    HGHARNESS_TARGET=http://127.0.0.1:8000/ HGHARNESS_PASSWORD=... HGHARNESS_USERNAME=hgharness \\
        locust -f load/hguser.py --headless -u 4 -r 2 -t 30s
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
from pathlib import Path

from locust import User, between, task
from locust.exception import StopUser

log = logging.getLogger("hgharness.hguser")


class HgOperationError(Exception):
    """A Mercurial operation the target failed (reason: message), as Locust records it."""


class HgLocustClient:
    """Wraps HgClient: each OpResult becomes one Locust request event."""

    def __init__(self, environment, target, repo: str, workdir: Path):
        from hgharness.hgclient import HgClient

        self.environment, self.repo, self.workdir = environment, repo, workdir
        self.hg = HgClient(target)
        self.races = 0
        self._clones = 0

    def fire(self, res) -> None:
        if res.race:
            self.races += 1  # the developer workflow retries it: not a failure, not a completed request
            return
        self.environment.events.request.fire(
            request_type="hg", name=res.name, response_time=res.duration_s * 1000.0, response_length=res.bytes,
            exception=None if res.ok else HgOperationError(f"{res.reason}: {res.message}"), context={})

    def clone(self, keep: bool = False):
        """Clone over HTTP; returns the local repository when keep, else removes it (a fresh checkout's cost)."""
        self._clones += 1
        dest = self.workdir / f"clone-{self._clones}"
        res, local = self.hg.clone(self.repo, dest)
        self.fire(res)
        if not keep:
            shutil.rmtree(dest, ignore_errors=True)
            return None
        return local


class HgUser(User):
    """A developer: pulls often, pushes sometimes, clones rarely. Locust's own pacing applies (wait_time)."""

    wait_time = between(1.0, 3.0)
    repo: str | None = None          # a subclass may fix the repository
    max_retries = 5

    def on_start(self):
        from hgharness.errors import HarnessError
        from hgharness.fixtures.traffic_changes import change_maker
        from hgharness.hgclient import Developer
        from hgharness.target import Target

        try:
            target = Target.from_options()
            target.require_load_allowed()
            repo = self.repo or _pick_repo(target)
            self.may_push = target.destructive_refusal() is None  # a push changes a target that may forbid it
        except HarnessError as e:
            log.error("HgUser cannot start: %s", e)
            raise StopUser() from None
        self.workdir = Path(tempfile.mkdtemp(prefix="hgharness-hguser-"))
        self.client = HgLocustClient(self.environment, target, repo, self.workdir)
        self.local = self.client.clone(keep=True)
        if self.local is None:
            raise StopUser()  # the failed clone is already in the statistics
        rng = random.Random()
        self.rng = rng
        self.developer = Developer(self.client.hg, repo, self.local, change_maker(rng), rng,
                                   user=b"hgharness locust <locust@hgharness.invalid>", record=self.client.fire,
                                   max_retries=self.max_retries)

    def on_stop(self):
        workdir = getattr(self, "workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    @task(10)
    def pull(self):
        self.developer.pull()

    @task(3)
    def push(self):
        if not self.may_push:  # the nondestructive subset: this developer only reads
            return self.developer.pull()
        dev = self.developer
        if not dev.stack:
            dev.work(commits=self.rng.choice((1, 1, 2, 3)))
        gave_up = dev.gave_up
        if not dev.push() and dev.gave_up > gave_up:
            self.environment.events.request.fire(
                request_type="hg", name="push", response_time=0.0, response_length=0,
                exception=HgOperationError(f"gave up: still raced after {self.max_retries} retries"), context={})

    @task(1)
    def clone(self):
        self.client.clone()


def _pick_repo(target) -> str:
    import os

    from hgharness.errors import HarnessError

    name = os.environ.get("HGHARNESS_TRAFFIC_REPO")
    if name:
        return name
    from hgharness.fixtures.traffic_cli import pick_repo

    name = pick_repo(target)
    if name:
        return name
    from hgharness.http import session

    names = [n for n in target.site.list_repos(target, session(target)) if n != "hostile"]
    if not names:
        raise HarnessError(f"no repository on {target.url} for Mercurial traffic (set HGHARNESS_TRAFFIC_REPO)")
    return names[0]
