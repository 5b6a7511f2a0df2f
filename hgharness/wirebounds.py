"""Every request Mercurial's HTTP client makes in this process, bounded in time and size.

Mercurial's client has a per-read timeout (http.timeout) but no deadline for a whole answer, and reads most
wire-protocol answers (capabilities, heads, known, batch) whole into memory. `install()` wraps its keep-alive
handler's do_open, once for the process, so that for every request:
- the whole answer must come within the deadline: when it passes, the handler's connections are shut down (a read
  blocked on a trickling server returns at once) and the read fails with WireDeadlineExceeded;
- an answer is read to at most max_bytes, except a bundle (getbundle, stream_out), which Mercurial reads as a
  stream, a piece at a time: a larger one fails with WireAnswerTooLarge.
Both exceptions name the bound; hgharness.hgclient.classify turns them into "timeout" and "too-large".
"""

from __future__ import annotations

import threading

from hgharness.http import Watch, shut

STREAMED_COMMANDS = ("cmd=getbundle", "cmd=stream_out")

_bounds = {"deadline": 120.0, "max_bytes": 64 * 2**20}
_installed = threading.Lock()
_done = False


class WireDeadlineExceeded(Exception):
    pass


class WireAnswerTooLarge(Exception):
    pass


def install(deadline: float, max_bytes: int) -> None:
    """Bound every Mercurial HTTP request of this process (the bounds of the last call rule)."""
    global _done
    _bounds.update(deadline=float(deadline), max_bytes=int(max_bytes))
    with _installed:
        if _done:
            return
        from mercurial import keepalive

        original = keepalive.KeepAliveHandler.do_open

        def do_open(self, http_class, req):
            return _bounded_open(self, original, http_class, req)

        keepalive.KeepAliveHandler.do_open = do_open
        _done = True


def _shut_all(handler) -> None:
    for conns in handler._cm.get_all().values():
        for conn in conns:
            shut(getattr(conn, "sock", None))


def _bounded_open(handler, original, http_class, req):
    deadline, max_bytes = _bounds["deadline"], _bounds["max_bytes"]
    previous = handler.__dict__.get("_hgharness_watch")
    if previous is not None:  # requests on one handler run one after another: the last one's answer is done
        previous.cancel()
    watch = Watch(deadline, on_expire=lambda: _shut_all(handler)).start()
    handler._hgharness_watch = watch
    try:
        response = original(handler, http_class, req)
    except Exception:
        if watch.expired:
            watch.cancel()
            raise WireDeadlineExceeded(f"no whole answer within {deadline:g} s (request_deadline)") from None
        watch.cancel()
        raise
    # a connection that will close forgets its socket once the headers are read; the response keeps it
    sock = getattr(getattr(response, "fileno", None), "__self__", None)
    if sock is not None:
        watch.register(sock)
    url = req.get_full_url()
    _bound(response, sock, watch, deadline, None if any(c in url for c in STREAMED_COMMANDS) else max_bytes)
    return response


def _drop(response, sock) -> None:
    shut(sock)
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing a connection already shut is not news
        pass


def _bound(response, sock, watch: Watch, deadline: float, limit: int | None) -> None:
    """The response's reads fail past the deadline, and past `limit` bytes (None: no size bound)."""
    if limit is not None:
        declared = response.getheader("content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            watch.cancel()
            _drop(response, sock)
            raise WireAnswerTooLarge(f"answer of {int(declared) / 2**20:.0f} MiB over the {limit / 2**20:g} MiB "
                                     "bound (max_response_mb)")
    read, readline, readinto, close = response.read, response.readline, response.readinto, response.close

    def guarded(fn, *args):
        try:
            data = fn(*args)
        except Exception:
            if watch.expired:
                raise WireDeadlineExceeded(f"no whole answer within {deadline:g} s (request_deadline)") from None
            raise
        if watch.expired:
            raise WireDeadlineExceeded(f"no whole answer within {deadline:g} s (request_deadline)")
        if limit is not None and response.receivedbytescount > limit:
            watch.cancel()
            _drop(response, sock)  # not read to its end: the server must not wait on a reader that left
            raise WireAnswerTooLarge(f"answer over the {limit / 2**20:g} MiB bound (max_response_mb)")
        return data

    def bounded_read(amt=None):
        if amt is not None and amt >= 0:
            return guarded(read, amt if limit is None else min(amt, limit + 1))
        parts = []  # to the end, a piece at a time: a huge answer is refused before it is held
        while True:
            data = guarded(read, 65536)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def bounded_readline(size=-1):
        cap = -1 if limit is None else limit + 1
        return guarded(readline, cap if size is None or size < 0 else (size if cap < 0 else min(size, cap)))

    def bounded_close():
        watch.cancel()
        close()

    response.read, response.readline, response.close = bounded_read, bounded_readline, bounded_close
    response.readinto = lambda dest: guarded(readinto, dest)
