"""An in-process Mercurial client for traffic: clone, pull, commit, push, with timings, bytes and failure reasons.

One HgClient per actor (thread or Locust user): Mercurial's ui and repository objects are not shared between
threads. Every operation opens its own peer (as `hg pull` would) and reports an OpResult, never raising for a
failure the target caused; the caller decides what a failure means.

The Developer class is the push workflow of a person: commit on top of what was last pulled, push, and on a
push race pull, rebase the unpushed commits onto the new remote head and push again (bounded retries).
"""

from __future__ import annotations

import http.client
import io
import random
import socket
import time
import urllib.error
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.hg import b, clone_url, init_mercurial, make_ui
from hgharness.secrets import redact

RACE_REASONS = ("new-head", "push-race")
HTTP_TIMEOUT_S = 300


@dataclass
class OpResult:
    name: str                      # clone | pull | push | known
    ok: bool
    duration_s: float = 0.0
    sent: int = 0                  # HTTP request bytes (headers + bodies)
    received: int = 0              # HTTP response bytes
    requests: int = 0
    reason: str | None = None      # short failure class, e.g. "auth", "new-head", "http-500"
    message: str = ""              # one line, redacted
    nodes: list[bytes] = field(default_factory=list)  # pushed nodes (push) or new nodes (pull)
    transport: str = "http"        # http | ssh

    @property
    def action(self) -> str:
        """The name statistics, gates and reports use: clone, pull, push over HTTP(S); ssh.clone ... over SSH."""
        return self.name if self.transport == "http" else f"{self.transport}.{self.name}"

    @property
    def race(self) -> bool:
        return self.reason in RACE_REASONS

    @property
    def bytes(self) -> int:
        return self.sent + self.received


def classify(exc: BaseException) -> tuple[str, str]:
    """(reason, one-line message) for an exception raised by a Mercurial operation over HTTP."""
    from mercurial import error

    if isinstance(exc, urllib.error.HTTPError):
        reason = {401: "auth", 403: "forbidden", 404: "not-found"}.get(exc.code, f"http-{exc.code}")
        return reason, f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return "unreachable", f"cannot connect: {getattr(exc.reason, 'strerror', None) or exc.reason}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", "timed out"
    from hgharness.wirebounds import WireAnswerTooLarge, WireDeadlineExceeded

    if isinstance(exc, WireDeadlineExceeded):
        return "timeout", str(exc)
    if isinstance(exc, WireAnswerTooLarge):
        return "too-large", str(exc)
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return "connection", f"connection broken: {type(exc).__name__}: {exc}"
    if isinstance(exc, _Refused):
        return "refused", str(exc)
    if isinstance(exc, error.PushRaced):
        return "push-race", _text(exc)
    if isinstance(exc, (error.Error, error.ResponseError)):
        text = _text(exc)
        return classify_text(text, "bad-response" if isinstance(exc, error.ResponseError) else "abort"), text
    return f"error:{type(exc).__name__}", f"{type(exc).__name__}: {exc}"


def classify_text(text: str, otherwise: str = "abort") -> str:
    """The reason of a Mercurial abort, from its words (an exception's in process, an `hg` child's stderr)."""
    low = text.lower()
    if "push creates new remote head" in low or "push creates new remote branches" in low:
        return "new-head"
    if "repository changed while" in low:  # the server's check:heads / check:phases saw another push
        return "push-race"
    if "authorization failed" in low or "authorization required" in low:
        return "auth"
    if "does not appear to be an hg repository" in low or "repository" in low and "not found" in low:
        return "not-found"
    return otherwise


# what ssh and the server say on stderr (shown as "remote: ...") -> the failure's reason
SSH_REASONS = (
    ("host key verification failed", "host-key"), ("no ed25519 host key is known", "host-key"),
    ("remote host identification has changed", "host-key"), ("permission denied", "auth"),
    ("this key may only read", "forbidden"), ("push access to", "forbidden"), ("' denied", "forbidden"),
    ("connection refused", "unreachable"),
    ("could not resolve hostname", "unreachable"), ("connection timed out", "unreachable"),
    ("no route to host", "unreachable"), ("cannot execute", "bad-response"), ("not found", "not-found"),
)


def classify_ssh(reason: str, message: str, said: bytes) -> tuple[str, str]:
    """A failed operation over SSH: its reason from the remote's lines, where they say more than the exception
    (Mercurial's "no suitable response from remote hg" covers a refused key and an unknown host alike)."""
    lines = [ln.strip() for ln in said.decode("utf-8", "replace").splitlines() if ln.strip()]
    for line in lines:
        low = line.lower()
        for needle, why in SSH_REASONS:
            if needle in low:
                return why, redact(f"{message}: {line}")
    return reason, redact(f"{message}: {lines[-1]}") if lines else message


def _text(exc) -> str:
    msg = getattr(exc, "message", None)
    if isinstance(msg, bytes):
        text = msg.decode("utf-8", "replace")
    else:
        parts = [p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in getattr(exc, "args", ())]
        text = " ".join(parts) or type(exc).__name__
    return redact(" ".join(text.split()))


def _clone_impl():
    try:  # Mercurial >= 7.2 moved clone; the old name still works with a deprecation warning
        from mercurial.cmd_impls import clone as impl

        return impl.clone
    except ImportError:
        from mercurial import hg

        return hg.clone


class HgClient:
    """Mercurial operations against one target, for one actor, over HTTP(S) or SSH (transport)."""

    def __init__(self, target, transport: str = "http"):
        init_mercurial()
        self.target, self.transport = target, transport
        self.ui = make_ui(target)
        # http.timeout: a server that stops answering fails the operation instead of hanging a bounded run
        for section, key, value in ((b"progress", b"disable", b"true"), (b"ui", b"timeout", b"120"),
                                    (b"http", b"timeout", b"%d" % HTTP_TIMEOUT_S)):
            self.ui.setconfig(section, key, value, b"hgharness")
        if transport == "ssh":
            from hgharness.hg import ssh_command

            problem = target.ssh_problem()
            if problem:
                raise HarnessError(problem)
            self.ui.setconfig(b"ui", b"ssh", b(ssh_command(target)), b"hgharness")
            # the remote's lines (ssh's own errors among them) are how a failure says why: kept, not quieted
            self.ui.setconfig(b"ui", b"quiet", b"false", b"hgharness")
        elif transport != "http":
            raise HarnessError(f"unknown transport {transport!r} (known: http, ssh)")

    def url(self, repo: str) -> bytes:
        if self.transport == "ssh":
            return b(self.target.ssh_url + repo)
        return b(clone_url(self.target, repo))

    def peer(self, repo: str):
        from mercurial import hg

        return hg.peer(self.ui, {"insecure": self.target.insecure}, self.url(repo))

    def _run(self, name: str, repo: str, fn, ui=None) -> OpResult:
        """Open a peer, run fn(peer) -> nodes, and account time, bytes and the failure reason."""
        uis = [self.ui] + ([ui] if ui is not None and ui is not self.ui else [])  # the peer's and the repo's
        res = OpResult(name, ok=False, transport=self.transport)
        started = time.perf_counter()
        peer = None
        for u in uis:  # Mercurial's messages belong to this operation, not to the harness's terminal
            u.pushbuffer(error=True, subproc=True)
        remote = None
        if self.transport == "ssh":  # the peer's ui is a copy of self.ui: the remote's lines land here
            remote = io.BytesIO()
            self.ui.fout = self.ui.ferr = remote
        try:
            peer = self.peer(repo)
            _track_responses(peer)
            res.nodes = list(fn(peer) or [])
            res.ok = True
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a reason, never a traceback
            res.reason, res.message = classify(e)
        finally:
            said = b"".join(u.popbuffer() for u in uis) + (remote.getvalue() if remote is not None else b"")
            res.duration_s = time.perf_counter() - started
            if not res.ok and self.transport == "ssh" and res.reason is not None:
                res.reason, res.message = classify_ssh(res.reason, res.message, said)
                if res.duration_s >= self.target.request_deadline and res.reason not in ("auth", "host-key"):
                    res.reason = "timeout"  # `timeout` ended the connection (hgharness.hg.ssh_command)
                    res.message = f"no answer over SSH within {self.target.request_deadline:g} s"
            if peer is not None:
                opener = getattr(peer, "_urlopener", None)
                res.sent = getattr(opener, "sentbytescount", 0)
                res.received = getattr(opener, "receivedbytescount", 0)
                res.requests = getattr(opener, "requestscount", 0)
                _close_connections(peer)
        return res

    def clone(self, repo: str, dest: str | Path) -> tuple[OpResult, object]:
        """Clone over HTTP into dest (no working directory); returns (result, local repo or None)."""
        box = {}

        def fn(peer):
            _src, dst = _clone_impl()(self.ui, {}, peer, b(str(dest)), update=False)
            box["repo"] = dst.local()
            return []

        res = self._run("clone", repo, fn)
        return res, box.get("repo")

    def pull(self, local, repo: str) -> OpResult:
        from mercurial import exchange

        def fn(peer):
            before = len(local.unfiltered().changelog)
            exchange.pull(local, peer)
            cl = local.unfiltered().changelog
            return [cl.node(r) for r in range(before, len(cl))]

        return self._run("pull", repo, fn, ui=local.ui)

    def push(self, local, repo: str, rev: bytes) -> OpResult:
        """Push `rev` and its missing ancestors. ok only when the server accepted them all."""
        from mercurial import exchange

        def fn(peer):
            op = exchange.push(local, peer, revs=[rev])
            missing = list(op.outgoing.missing) if op.outgoing is not None else []
            if missing and not op.cgresult:
                raise _Refused(f"push of {len(missing)} changeset(s) was not accepted (result {op.cgresult!r})")
            return missing

        return self._run("push", repo, fn, ui=local.ui)

    def known(self, repo: str, nodes: list[bytes], batch: int = 500) -> tuple[OpResult, list[bool]]:
        """The `known` wire-protocol command: which of nodes the server has."""
        answer: list[bool] = []

        def fn(peer):
            for i in range(0, len(nodes), batch):
                answer.extend(bool(x) for x in peer.known(nodes[i:i + batch]))
            return []

        return self._run("known", repo, fn), answer

    def check_push_auth(self, repo: str, node_hex: bytes) -> OpResult:
        """An authenticated no-op push command (phases pushkey public->public): proves the credentials are
        accepted for pushing without changing anything on the server."""
        def fn(peer):
            accepted = peer.pushkey(b"phases", node_hex, b"0", b"0")
            # Over SSH a refusal is a false answer with the remote's reason on stderr, not an HTTP status. A false
            # answer alone is no refusal: the node may be draft on the server (pushkey says only "not public").
            if not accepted and self.transport == "ssh":
                # ssh carries stderr apart from the answer, and it may trail it: closing the peer reads the
                # remote's stderr to its end
                peer.close()
                if b"remote: " in self.ui.ferr.getvalue():
                    raise _Refused("the server refused a no-op push (phases public -> public)")
            return []

        return self._run("auth", repo, fn)


class HgProcessClient(HgClient):
    """HgClient whose clone, pull and push run `hg` in a child process, over SSH: for Locust users, where
    Mercurial's in-process SSH peer hangs under gevent (its handshake reads gevent's pipe objects to EOF), while
    running a child and waiting for it is cooperative. The local repository stays open in this process for
    commits and rebases; it is re-read after every child that wrote to it. Each child is bounded by the target's
    request deadline (the ssh command's own `timeout`, and a kill a little after it)."""

    def __init__(self, target, transport: str = "ssh"):
        if transport != "ssh":  # over HTTP the credentials would be the child's arguments: in-process only
            raise HarnessError("the hg child-process client speaks SSH only (HTTP stays in process)")
        super().__init__(target, transport)
        import shutil
        import sys

        from hgharness.hg import ssh_command

        exe = Path(sys.executable).with_name("hg")
        self.hg = str(exe) if exe.exists() else shutil.which("hg")
        if not self.hg:
            raise HarnessError("hg not found beside the harness's Python, nor on PATH")
        self.config = ["--config", f"ui.ssh={ssh_command(target)}", "--config", "ui.interactive=false",
                       "--config", "progress.disable=true", "--config", "ui.username=hgharness <hgharness@localhost>"]

    def _child(self, name: str, args: list[str]) -> OpResult:
        import os
        import subprocess

        res = OpResult(name, ok=False, transport=self.transport)
        env = {**os.environ, "HGPLAIN": "1", "HGRCPATH": "", "LC_ALL": "C"}  # no user or system hgrc
        started = time.perf_counter()
        try:
            p = subprocess.run([self.hg, *self.config, *args], env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=self.target.request_deadline + 15)
        except subprocess.TimeoutExpired:
            res.duration_s = time.perf_counter() - started
            res.reason, res.message = "timeout", f"no answer over SSH within {self.target.request_deadline:g} s"
            return res
        res.duration_s = time.perf_counter() - started
        said = p.stdout[-65536:] + p.stderr[-65536:]
        # `hg push` and `hg pull` answer 1 for "no changes found": done, nothing to move
        if p.returncode == 0 or p.returncode == 1 and name in ("push", "pull") and b"no changes found" in said:
            res.ok = True
            return res
        # the remote's lines ("remote: ...") come on stdout, the abort and ssh's own errors on stderr
        lines = [ln.strip() for ln in said.decode("utf-8", "replace").splitlines() if ln.strip()]
        abort = next((ln for ln in reversed(lines) if ln.startswith("abort:")), lines[-1] if lines else "")
        text = redact(" ".join(abort.split())) or f"hg {name} exited with status {p.returncode}"
        res.reason, res.message = classify_text(" ".join(lines)), text
        if res.reason not in RACE_REASONS:
            others = "\n".join(ln for ln in lines if ln != abort)
            res.reason, res.message = classify_ssh(res.reason, res.message, others.encode())
        if p.returncode == 124 or res.duration_s >= self.target.request_deadline and \
                res.reason not in ("auth", "host-key"):
            res.reason, res.message = "timeout", f"no answer over SSH within {self.target.request_deadline:g} s"
        return res

    @staticmethod
    def _reread(local) -> None:
        local.invalidateall()
        local.invalidatecaches()

    def clone(self, repo: str, dest: str | Path) -> tuple[OpResult, object]:
        res = self._child("clone", ["clone", "-U", "--", self.url(repo).decode(), str(dest)])
        if not res.ok:
            return res, None
        from mercurial import hg

        return res, hg.repository(self.ui, b(str(dest)))

    def pull(self, local, repo: str) -> OpResult:
        cl = local.unfiltered().changelog
        before = len(cl)
        res = self._child("pull", ["-R", local.root.decode(), "pull", "--", self.url(repo).decode()])
        self._reread(local)
        cl = local.unfiltered().changelog
        res.nodes = [cl.node(r) for r in range(before, len(cl))]
        return res

    def push(self, local, repo: str, rev: bytes) -> OpResult:
        """Push `rev`; its draft ancestors are what the push sends (all this client commits is draft, all it
        pulled from a publishing site public) and, once accepted, what it pushed."""
        missing = [local.changelog.node(r) for r in local.revs(b"::%n and not public()", rev)]
        res = self._child("push", ["-R", local.root.decode(), "push", "-r", rev.hex(), "--",
                                   self.url(repo).decode()])
        self._reread(local)
        if res.ok:
            res.nodes = missing
        return res


class _Refused(Exception):
    pass


def _keepalive_handlers(peer):
    opener = getattr(peer, "_urlopener", None)
    return [h for h in getattr(opener, "handlers", []) if hasattr(h, "close_all") and hasattr(h, "do_open")]


def _track_responses(peer) -> None:
    """Remember every HTTP response this peer opens, so the operation can close them when it ends."""
    for handler in _keepalive_handlers(peer):
        opened = handler.__dict__.setdefault("_hgharness_responses", [])
        do_open = handler.do_open  # the class's method, bound; this instance attribute shadows it

        def tracked(http_class, req, _do_open=do_open, _opened=opened):
            response = _do_open(http_class, req)
            _opened.append(weakref.ref(response))  # weak: a response freed early must close early
            return response

        handler.do_open = tracked


def _close_connections(peer) -> None:
    """Close the peer's sockets now, as an `hg` process does by exiting.

    Mercurial's keep-alive handler keeps connections for reuse, and the response of an unbundle sits in a
    reference cycle (url.wrapresponse), so its socket stays open until the garbage collector runs. A server that
    lingers on close (gunicorn waits up to 2 s for the client's FIN) then has a worker held by a finished
    operation; a long-lived client process would add 2 s stalls no `hg` command causes."""
    try:
        peer.close()
        for handler in _keepalive_handlers(peer):
            for ref in handler.__dict__.pop("_hgharness_responses", []):
                response = ref()
                if response is None:
                    continue
                fp = getattr(response, "fp", None)
                response.close()
                if fp is not None:
                    fp.close()
            handler.close_all()
    except Exception:  # noqa: BLE001 - closing a broken connection is not news
        pass


def local_clone(src, dest: str | Path):
    """A local copy of repository `src` (hardlinked store), used so actors need not all clone over HTTP."""
    _src, dst = _clone_impl()(src.ui, {}, src, b(str(dest)), update=False)
    return dst.local()


# ---------------------------------------------------------------------------------------------------------
# committing and rebasing without a working directory

def commit(local, parent: bytes, change, user: bytes, date=None) -> bytes:
    """Commit `change` (see fixtures/traffic_changes.Change: files {path: (data|None, flags, copysource)} and
    message) on top of `parent` with a memctx; returns the new node."""
    from mercurial import context

    files = change.files

    def filectx(repo, mctx, path):
        data, flags, copysource = files[path]
        if data is None:
            return None
        return context.memfilectx(repo, mctx, path, data, islink="l" in flags, isexec="x" in flags,
                                  copysource=copysource)

    date = date or (int(time.time()), 0)
    branch = local[parent].branch()
    ctx = context.memctx(local, (parent, None), b(change.message), sorted(files), filectx, user=user, date=date,
                         branch=branch)
    with local.lock(), local.transaction(b"hgharness-commit"):
        return local.commitctx(ctx)


def rebase(local, nodes: list[bytes], onto: bytes) -> tuple[list[bytes], int]:
    """Replay commits `nodes` (a linear stack, oldest first) on top of `onto`, merging each changed file
    three-way against what the new base holds (conflicting hunks keep our side, as a developer resolving with
    their own version would). Returns (new nodes, number of conflicting hunks)."""
    from types import SimpleNamespace

    new_nodes, conflicts, parent = [], 0, onto
    for node in nodes:
        ctx = local[node]
        base, theirs = ctx.p1(), local[parent]
        files = {}
        for path in ctx.files():
            mine = _data(ctx, path)
            old = _data(base, path)
            other = _data(theirs, path)
            copysource = None
            if mine is not None:
                renamed = ctx[path].renamed()
                if renamed and renamed[0] in theirs:
                    copysource = renamed[0]
                flags = ctx[path].flags().decode()
            else:
                flags = ""
            if other == old or mine == other:
                merged = mine
            elif mine is None or old is None or other is None:
                merged, n = mine, 1  # delete/modify or add/add: keep ours
                conflicts += n
            else:
                merged, n = merge3(old, mine, other)
                conflicts += n
            if merged == other and (merged is None or flags == (theirs[path].flags().decode()
                                                                 if other is not None else "")):
                continue
            files[path] = (merged, flags, copysource)
        if not files:
            continue  # the change is already there (someone pushed the same edit): nothing left to replay
        change = SimpleNamespace(files=files, message=ctx.description().decode("utf-8", "replace"))
        parent = commit(local, parent, change, ctx.user(), ctx.date())
        new_nodes.append(parent)
    return new_nodes, conflicts


def _data(ctx, path: bytes):
    return ctx[path].data() if path in ctx else None


def merge3(base: bytes, mine: bytes, theirs: bytes) -> tuple[bytes, int]:
    """Three-way merge of texts with Mercurial's merge algorithm; conflicts take our lines."""
    from mercurial import simplemerge

    m3 = simplemerge.Merge3Text(base, mine, theirs)
    out, conflicts = [], 0
    for what, lines in m3.merge_groups():
        if what == b"conflict":
            conflicts += 1
            out.extend(lines[1])
        else:
            out.extend(lines)
    return b"".join(out), conflicts


# ---------------------------------------------------------------------------------------------------------
# the developer workflow

RETRY_PAUSE_S, RETRY_PAUSE_CAP_S = 0.1, 1.0  # after a push race: up to 0.1, 0.2, 0.4, 0.8, 1.0 s


class Developer:
    """One person working on one repository: commits on a local clone and pushes like a careful developer.

    `make_change(parent_ctx, rng) -> change` provides the edits. `record(OpResult)` receives every operation
    (push attempts, the pulls a race forces). Nodes accepted by the server accumulate in `pushed`.
    """

    def __init__(self, client: HgClient, repo: str, local, make_change, rng, user: bytes, record,
                 max_retries: int = 5, branch: bytes = b"default", keep_going=None):
        self.client, self.repo, self.local = client, repo, local
        self.keep_going = keep_going or (lambda: True)  # False once the run is over: no more retries
        self.make_change, self.rng, self.user, self.record = make_change, rng, user, record
        self.max_retries, self.branch = max_retries, branch
        self.stack: list[bytes] = []   # local commits not yet accepted by the server, oldest first
        self.abandoned: set[bytes] = set()  # commits replaced by their rebased copies
        self.pushed: list[bytes] = []
        self.retries = self.gave_up = self.conflicts = 0
        self._jitter = random.Random()  # the pause after a race (not rng: the changes made stay the seed's)

    def base(self) -> bytes:
        """Where new work starts, as `hg update BRANCH` picks it: the tipmost head of the branch, leaving out
        our unpushed stack and the commits a rebase replaced (in a person's clone rebase deletes those)."""
        hidden = list(self.abandoned) + self.stack
        revs = self.local.revs(b"max(heads(branch(%s) - %ln))", self.branch, hidden)
        if not revs:
            revs = self.local.revs(b"max(heads(all() - %ln))", hidden)
        return self.local.changelog.node(revs.first()) if revs else self.local.nullid

    def work(self, commits: int = 1) -> None:
        parent = self.stack[-1] if self.stack else self.base()
        for _ in range(commits):
            change = self.make_change(self.local[parent], self.rng)
            parent = commit(self.local, parent, change, self.user)
            self.stack.append(parent)

    def pull(self) -> OpResult:
        res = self.client.pull(self.local, self.repo)
        self.record(res)
        return res

    def push(self) -> bool:
        """Push the stack; on a race pull, rebase, retry. True when the server accepted it."""
        if not self.stack:
            return True
        for attempt in range(self.max_retries + 1):
            res = self.client.push(self.local, self.repo, self.stack[-1])
            self.record(res)
            if res.ok:
                self.pushed += res.nodes
                self.stack = []
                return True
            if not res.race or attempt == self.max_retries or not self.keep_going():
                break
            self.retries += 1
            # as people do after losing a race: a moment's pause, random and growing (at most 2.5 s over five
            # retries), so that two pushers who keep racing fall out of step
            time.sleep(self._jitter.uniform(0, min(RETRY_PAUSE_CAP_S, RETRY_PAUSE_S * 2 ** attempt)))
            if not self.pull().ok:
                break
            old, self.stack = self.stack, []
            self.abandoned.update(old)  # base() must not pick our own old commits
            self.stack, conflicts = rebase(self.local, old, self.base())
            self.abandoned.difference_update(self.stack)  # a replay onto the same parent gives the same node
            self.conflicts += conflicts
            if not self.stack:
                return True
        if res.race and self.keep_going():
            self.gave_up += 1  # still contended after every retry: the stack stays local and is pushed later
        return False
