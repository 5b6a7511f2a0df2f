"""The catalog: every URL the load users may request, drawn from the fixture repositories the target serves.

A load test that requests made-up paths measures 404 pages; this one requests only pages that exist: each path is
built by the site adapter (target.site.route) from a changeset, file or directory read out of the fixture repos
themselves (Target.fixture_dir, or clones made over the wire protocol when the harness did not provision the
target). The catalog is built once, by the harness process, and handed to Locust as a JSON file:

    {"schema": "hgharness.load-catalog/1", "target": URL, "repos": [names],
     "actions": {action name: [path relative to the target URL, ...]},
     "api": {"path": API path, "calls": {action name: [{"method", "args"}, ...]}}   (sites with an API)

Action names are the ones every layer uses (headless checks, Selenium steps, Locust `name=`).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.sites.base import KIND_NEEDS

SCHEMA = "hgharness.load-catalog/1"
# action name -> route kind (the capability it needs: hgharness.sites.base.KIND_NEEDS)
ACTIONS = {
    "index": "index", "summary": "summary", "log": "log_from", "shortlog": "shortlog", "graph": "graph",
    "changeset": "rev", "manifest": "manifest", "file": "file", "raw_file": "raw_file", "annotate": "annotate",
    "archive": "archive", "tags": "tags", "branches": "branches", "atom_log": "atom_log",
    "json_index": "json_index", "json_log": "json_log", "json_rev": "json_rev", "json_tags": "json_tags",
    "json_branches": "json_branches", "json_bookmarks": "json_bookmarks",
}
# Fixture repositories built to attack the UI (escaping, traversal, odd encodings) are the security suites'
# business (and the place their findings are reported); load models real traffic, so it leaves them out.
NOT_LOADED = ("hostile",)
NODES_PER_REPO = 40          # changesets sampled along the history (tip included)
FILES_PER_REPO = 80          # (revision, file) pairs
MAX_RAW_BYTES = 2 << 20      # raw files bigger than this are left out (a load test, not a bandwidth test)
MAX_ANNOTATE_BYTES = 64 << 10
MAX_ARCHIVE_BYTES = 20 << 20  # a repository whose tip is bigger gets no archive URLs
MAX_ARCHIVE_FILES = 5000
SAFE_TAG = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._+-]*")


def fixture_repos(target, workdir: str | Path | None = None, progress=None) -> dict[str, Path]:
    """name -> local repository holding what the target serves (the same rule as conftest's fixture_repos)."""
    if target.fixture_dir:
        base = Path(target.fixture_dir)
        if not base.is_dir():
            raise HarnessError(f"fixture directory {base} does not exist")
        names = [n for n in target.repos or sorted(p.name for p in base.iterdir() if (p / ".hg").is_dir())
                 if n not in NOT_LOADED]
        if not names:
            raise HarnessError(f"fixture directory {base} holds no repository to load-test")
        missing = [n for n in names if not (base / n / ".hg").is_dir()]
        if missing:
            raise HarnessError(f"fixture directory {base} lacks repositories {', '.join(missing)}")
        return {n: base / n for n in names}
    from hgharness import hg
    from hgharness.http import session

    names = [n for n in target.repos or target.site.list_repos(target, session(target, auth=True))
             if n not in NOT_LOADED]
    if not names:
        raise HarnessError(f"target {target.url} serves no repositories: nothing to load-test")
    dest = Path(workdir or tempfile.mkdtemp(prefix="hgharness-load-clones-"))
    out = {}
    for name in names:
        if progress:
            progress(f"cloning {name} to learn its pages")
        path = dest / name.replace("/", "_")
        if not (path / ".hg").is_dir():
            hg.clone(target, name, path)
        out[name] = path
    return out


def build_catalog(target, repos: dict[str, Path], seed: int = 7, upto: dict | None = None) -> dict:
    """Every action's URL paths for `target`, from the local repositories `repos` (name -> path).

    upto (repository -> tip hash): only those repositories, and only the history up to that tip (an A/B run: what
    both targets served when it began)."""
    from hgharness import hg

    site = target.site
    rng = random.Random(seed)  # same fixture, same catalog: runs stay comparable
    actions: dict[str, list[str]] = {name: [] for name in ACTIONS}

    def add(action, kind=None, **kw):
        kind = kind or ACTIONS[action]
        cap = KIND_NEEDS.get(kind)
        if kind not in site.ROUTES or (cap and not target.can(cap)):
            return
        actions[action].append(site.route(kind, **kw))

    add("index")
    add("json_index")
    skipped_names = 0
    for name, path in sorted(repos.items()):
        if upto is not None and name not in upto:
            continue
        repo = hg.open_repo(path)
        if upto is not None:
            if upto[name].encode() not in repo:
                continue
            revs = list(repo.revs(b"::%s", upto[name].encode()))
            tip = repo[upto[name].encode()]
        else:
            revs = list(repo.revs(b"all()"))
            tip = repo[b"tip"]
        if not revs:
            continue
        for action in ("summary", "shortlog", "graph", "tags", "branches", "atom_log", "json_log", "json_tags",
                       "json_branches", "json_bookmarks"):
            add(action, repo=name)
        picked = _spread(revs, NODES_PER_REPO)
        for r in picked:
            ctx = repo[r]
            node = ctx.hex().decode()
            add("changeset", repo=name, rev=node[:12])
            add("json_rev", repo=name, rev=node)
        add("log", kind="log", repo=name)
        for r in _spread(revs, 8):
            add("log", repo=name, rev=repo[r].hex().decode()[:12])
        files, skipped = _files(repo, picked, rng, tip)
        skipped_names += skipped
        dirs = set()
        for node, fpath, size in files:
            add("file", repo=name, rev=node[:12], path=fpath)
            if size <= MAX_RAW_BYTES:
                add("raw_file", repo=name, rev=node[:12], path=fpath)
            if size <= MAX_ANNOTATE_BYTES:
                add("annotate", repo=name, rev=node[:12], path=fpath)
            dirs.add((node[:12], fpath.rpartition("/")[0]))
        for node, d in sorted(dirs)[:20]:
            add("manifest", repo=name, rev=node, path=d)
        if _archivable(tip):
            # by node, and by release tag as CI jobs do (tags with plain names only: a tag may hold '/')
            known = set(revs)
            archive_revs = [tip.hex().decode()[:12]]
            archive_revs += [t.decode() for t, n in repo.tagslist() if t != b"tip" and SAFE_TAG.fullmatch(t)
                             and n in repo and repo[n].rev() in known][:3]
            for rev in archive_revs:
                for fmt in ("tar.gz", "zip"):
                    add("archive", repo=name, rev=rev, fmt=fmt)
    actions = {k: v for k, v in actions.items() if v}
    if not actions:
        raise HarnessError("the fixture repositories yield no page to request")
    names = sorted(n for n in repos if upto is None or n in upto)
    out = {"schema": SCHEMA, "target": target.url, "site": target.site_name, "repos": names,
           "skipped_names": skipped_names, "actions": actions}
    if target.can("api") and "api" in site.ROUTES:
        out["api"] = {"path": site.route("api"), "calls": _api_calls(names)}
    return out


def _api_calls(names: list[str]) -> dict[str, list[dict]]:
    """JSON-RPC calls (Kallithea's API) per action name; the API key is added by the user at request time."""
    return {
        "api_get_repos": [{"method": "get_repos", "args": {}}],
        "api_get_repo": [{"method": "get_repo", "args": {"repoid": n}} for n in names],
        "api_get_changesets": [{"method": "get_changesets", "args": {"repoid": n, "max_revisions": 20}}
                               for n in names],
    }


def _spread(items: list, n: int) -> list:
    """n items evenly spread over `items`, the last one (tip) always included."""
    if len(items) <= n:
        return list(items)
    step = (len(items) - 1) / (n - 1)
    return sorted({items[round(i * step)] for i in range(n)})


def _files(repo, revs, rng, tip) -> tuple[list[tuple[str, str, int]], int]:
    """(node hex, path, size) of files touched by the sampled revisions, plus a few from the tip manifest."""
    out, seen, skipped = [], set(), 0
    candidates = []
    for r in revs:
        ctx = repo[r]
        candidates += [(ctx, f) for f in ctx.files() if f in ctx]
    manifest = list(tip.manifest())
    candidates += [(tip, f) for f in rng.sample(manifest, min(len(manifest), FILES_PER_REPO // 4))]
    rng.shuffle(candidates)
    for ctx, f in candidates:
        if len(out) >= FILES_PER_REPO:
            break
        try:
            path = f.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1  # a URL cannot name it unambiguously; the headless suites check such names
            continue
        key = (ctx.rev(), path)
        if key in seen:
            continue
        seen.add(key)
        out.append((ctx.hex().decode(), path, ctx[f].size()))
    return out, skipped


def _archivable(tip) -> bool:
    manifest = tip.manifest()
    if len(manifest) > MAX_ARCHIVE_FILES:
        return False
    total = 0
    for f in manifest:
        total += tip[f].size()
        if total > MAX_ARCHIVE_BYTES:
            return False
    return True


def write_catalog(catalog: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(catalog, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def read_catalog(path: str | Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise HarnessError(f"cannot read load catalog {path}: {e}") from None
    if data.get("schema") != SCHEMA or not data.get("actions"):
        raise HarnessError(f"{path} is not a load catalog ({SCHEMA})")
    return data


def catalog_for(target, workdir: str | Path | None = None, progress=None, upto: dict | None = None) -> dict:
    return build_catalog(target, fixture_repos(target, workdir, progress), seed=7, upto=upto)
