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

    def __init__(self, environment, target, repo: str, workdir: Path, request_type: str = "hg",
                 transport: str = "http"):
        from hgharness.hgclient import HgClient, HgProcessClient

        self.environment, self.repo, self.workdir = environment, repo, workdir
        self.request_type = request_type  # "baseline hg" for the baseline's side of an A/B run
        # over SSH each operation is an `hg` child: Mercurial's SSH peer hangs in process under gevent
        self.hg = HgProcessClient(target) if transport == "ssh" else HgClient(target)
        self.races = 0
        self._clones = 0
        self.context: dict = {}  # A/B runs: the pair id of the task under way

    def fire(self, res) -> None:
        if res.race:
            self.races += 1  # the developer workflow retries it: not a failure, not a completed request
            return
        self.environment.events.request.fire(
            request_type=self.request_type, name=res.action, response_time=res.duration_s * 1000.0,
            response_length=res.bytes, exception=None if res.ok else HgOperationError(f"{res.reason}: {res.message}"),
            context=self.context)

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
    repo_weights: tuple | None = None  # a derived mix: (repositories, weights) to draw this user's one from
    max_retries = 5
    transport = "http"               # the mix's transport: http, or ssh (the target's ssh_url, key, known_hosts)

    def on_start(self):
        from hgharness.errors import HarnessError
        from hgharness.fixtures.traffic_changes import change_maker
        from hgharness.hgclient import Developer
        from hgharness.load.ab import SIDE, baseline_from_env
        from hgharness.target import Target

        try:
            target = Target.from_options()
            target.require_load_allowed()
            repo = self.repo or _weighted_repo(self.repo_weights) or _pick_repo(target)
            baseline = baseline_from_env()
            self.may_push = target.destructive_refusal() is None  # a push changes a target that may forbid it
            if baseline is not None:
                self.may_push = self.may_push and baseline.destructive_refusal() is None
        except HarnessError as e:
            log.error("HgUser cannot start: %s", e)
            raise StopUser() from None
        self.workdir = Path(tempfile.mkdtemp(prefix="hgharness-hguser-"))
        self.rng = random.Random()
        try:
            self.sides = [self._side(target, repo, "hg", change_maker, Developer)]
            if baseline is not None:  # A/B: the same developer works in a clone of each, operation by operation
                self.sides.append(self._side(baseline, repo, SIDE + "hg", change_maker, Developer))
        except HarnessError as e:  # e.g. SSH settings missing: one line, and this user stops
            log.error("HgUser cannot start: %s", e)
            raise StopUser() from None
        self.client, self.developer = self.sides[0]

    def _side(self, target, repo, request_type, change_maker, developer_class):
        workdir = self.workdir  # the candidate's clone directly in it, the baseline's in baseline/
        if request_type != "hg":
            workdir = self.workdir / "baseline"
            workdir.mkdir()
        client = HgLocustClient(self.environment, target, repo, workdir, request_type, self.transport)
        local = client.clone(keep=True)
        if local is None:
            raise StopUser()  # the failed clone is already in the statistics
        developer = developer_class(client.hg, repo, local, change_maker(self.rng), self.rng,
                                    user=b"hgharness locust <locust@hgharness.invalid>", record=client.fire,
                                    max_retries=self.max_retries)
        return client, developer

    def _paired(self, do) -> None:
        from hgharness.load.pairing import paired

        first, second = self.sides[0], self.sides[1] if len(self.sides) > 1 else None

        def run(side, context):
            side[0].context = context or {}
            do(*side)

        paired(first, second, run)

    def on_stop(self):
        workdir = getattr(self, "workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    @classmethod
    def set_actions(cls, weights: dict[str, int]) -> None:
        """A mix's weights of pull, push and clone (load/mixes.toml [mixes.NAME.actions.Developer])."""
        own = {"pull": 10, "push": 3, "clone": 1}
        own.update(weights)
        cls.tasks = [getattr(cls, name) for name, w in own.items() for _ in range(w)]

    @task(10)
    def pull(self):
        self._paired(lambda client, dev: dev.pull())

    @task(3)
    def push(self):
        if not self.may_push:  # the nondestructive subset: this developer only reads
            return self.pull()
        commits = self.rng.choice((1, 1, 2, 3))
        self._paired(lambda client, dev: self._push(client, dev, commits))

    def _push(self, client, dev, commits: int) -> None:
        if not dev.stack:
            dev.work(commits=commits)
        gave_up = dev.gave_up
        if not dev.push() and dev.gave_up > gave_up:
            self.environment.events.request.fire(
                request_type=client.request_type, name=client.hg.transport + ".push" if client.hg.transport != "http"
                else "push", response_time=0.0, response_length=0,
                exception=HgOperationError(f"gave up: still raced after {self.max_retries} retries"),
                context=client.context)

    @task(1)
    def clone(self):
        self._paired(lambda client, dev: client.clone())


def _weighted_repo(choice) -> str | None:
    if not choice or not any(choice[1]):
        return None
    return random.choices(choice[0], weights=choice[1])[0]


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
