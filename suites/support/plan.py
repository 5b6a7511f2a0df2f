"""The check plan: which repositories, revisions and files the table-driven checks visit.

Built at collection time from the fixture repositories, identically on every xdist worker (fixed seeds), so
test ids are readable and stable: `demo@merge`, `demo@r7`, `demo@rename:docs/guide.txt`.

Revisions are sampled, not exhausted, so the suite stays fast on big repositories: tip, the root, the newest
merge, the newest rename, and a few random ones with a seed derived from the repository.

A push repository receives the destructive wire-protocol checks and is left out of the content checks: its
history changes during the run. It is HGHARNESS_PUSH_REPO, else a served repository named `scratch`, else, on
an embedded target only (a throwaway copy of the fixtures), its smallest repository.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.suites.support.repodata import Repo, open_repo

RANDOM_REVS = 3
FILES_PER_REV = 3
SCAN_LIMIT = 2000  # newest revisions scanned for a merge or a rename


@dataclass(frozen=True)
class Sample:
    repo: str
    label: str  # tip | root | merge | rename | r<N>
    rev: int

    @property
    def id(self) -> str:
        return f"{self.repo}@{self.label}"


@dataclass
class Plan:
    target: object
    paths: dict[str, Path]            # every served repository -> local copy
    push_repo: str | None = None
    error: HarnessError | None = None  # the target could not be reached: tests report it as a harness error
    _samples: dict = field(default_factory=dict)

    @property
    def checked(self) -> list[str]:
        """Repositories whose content is checked (all but the push repository)."""
        return [n for n in sorted(self.paths) if n != self.push_repo]

    def repo(self, name: str) -> Repo:
        return open_repo(str(self.paths[name]))

    def samples(self, name: str) -> list[Sample]:
        if name not in self._samples:
            self._samples[name] = _sample_revs(name, self.repo(name))
        return self._samples[name]

    def all_samples(self) -> list[Sample]:
        return [s for name in self.checked for s in self.samples(name)]

    def files(self, sample: Sample) -> list[str]:
        return pick_files(sample, self.repo(sample.repo))


def _sample_revs(name: str, repo: Repo) -> list[Sample]:
    if not len(repo):
        return []
    chosen: dict[int, str] = {}

    def add(label, rev):
        if rev is not None and rev not in chosen:
            chosen[rev] = label

    add("tip", repo.revs_desc[0])
    add("root", repo.revs_desc[-1])
    add("merge", repo.find_rev(lambda c: len(c.parents()) == 2, SCAN_LIMIT))
    add("rename", repo.find_rev(lambda c: _has_rename(c), SCAN_LIMIT))
    rng = random.Random(f"hgharness:{name}:{len(repo)}")
    rest = [r for r in repo.revs_desc if r not in chosen]
    for r in sorted(rng.sample(rest, min(RANDOM_REVS, len(rest))), reverse=True):
        add(f"r{r}", r)
    return [Sample(name, label, rev) for rev, label in chosen.items()]


def _has_rename(ctx) -> bool:
    files = ctx.files()
    if len(files) > 50:
        return False
    for f in files:
        if f in ctx and ctx[f].copysource():
            return True
    return False


def pick_files(sample: Sample, repo: Repo) -> list[str]:
    """A few files of the manifest at the sample: changed ones first, a copy target, an executable, a symlink,
    and a random one (fixed seed)."""
    mf = repo.manifest(sample.rev)
    if not mf:
        return []
    picked: list[str] = []

    def add(path):
        if path and path in mf and path not in picked and len(picked) < FILES_PER_REV:
            picked.append(path)

    changed = [f for f in repo.info(sample.rev)["files"] if f in mf]
    for f in changed:
        if repo.copysource(sample.rev, f):
            add(f)
    for f in changed[:2]:
        add(f)
    names = sorted(mf)
    add(next((f for f in names if mf[f] == "l"), None))
    add(next((f for f in names if mf[f] == "x"), None))
    rng = random.Random(f"hgharness:{sample.id}")
    add(rng.choice(names))
    return picked


# --- building the plan for a pytest session -----------------------------------------------------------------

def get_plan(config) -> Plan:
    cached = getattr(config, "_hgharness_plan", None)
    if cached is None:
        cached = config._hgharness_plan = _build(config)
    return cached


def _build(config) -> Plan:
    try:
        target = _target(config)
        paths = _local_repos(target)
    except HarnessError as e:
        return Plan(target=None, paths={}, error=e)
    push = os.environ.get("HGHARNESS_PUSH_REPO") or ("scratch" if "scratch" in paths else None)
    if not push and target.embedded and len(paths) > 1:
        push = min(paths, key=lambda n: (len(open_repo(str(paths[n]))), n))
    if push and push not in paths:
        return Plan(target=target, paths=paths, error=HarnessError(
            f"HGHARNESS_PUSH_REPO={push} is not served by {target.url} (served: {', '.join(sorted(paths))})"))
    return Plan(target=target, paths=paths, push_repo=push)


def _target(config):
    # the root conftest builds (and caches) the Target; reuse it so both agree
    for plugin in config.pluginmanager.get_plugins():
        build = getattr(plugin, "_build_target", None)
        if callable(build):
            return build(config)
    raise HarnessError("the hgharness root conftest.py is not loaded: run pytest from the project root")


def _local_repos(target) -> dict[str, Path]:
    if target.fixture_dir:
        base = Path(target.fixture_dir)
        if not base.is_dir():
            raise HarnessError(f"fixture directory {base} does not exist")
        names = target.repos or sorted(p.name for p in base.iterdir() if (p / ".hg").is_dir())
        missing = [n for n in names if not (base / n / ".hg").is_dir()]
        if missing:
            raise HarnessError(f"fixture directory {base} lacks {', '.join(missing)}")
        return {n: base / n for n in names}
    return _clone_all(target)


def _clone_all(target) -> dict[str, Path]:
    """Without a fixture directory, clone every repository once per run (shared by the xdist workers)."""
    from hgharness import hg
    from hgharness.http import session

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    key = hashlib.sha1(f"{target.url}:{run}".encode()).hexdigest()[:16]
    base = Path(os.environ.get("HGHARNESS_RUN_DIR") or tempfile.gettempdir()) / f"hgharness-clones-{key}"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        names = target.repos or target.site.list_repos(target, session(target, auth=True))
        out = {}
        for name in names:
            dest = base / name.replace("/", "_")
            if not (dest / ".hg").is_dir():
                hg.clone(target, name, dest)
            out[name] = dest
        return out
