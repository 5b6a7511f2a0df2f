"""One Locust request bounded in time and size, whatever the site does.

Locust's FastHttpSession has a per-read timeout (network_timeout) but no deadline for the whole answer, and reads
every body whole into memory: a site trickling a byte a second holds a user for ever, and one streaming gigabytes
fills the worker's memory. Here the body is read as a stream, at most `max_bytes` of it, and a gevent Timeout
ends the request when its whole answer has not come within `deadline_s`. Either way the request is recorded as a
failure with a one-line reason, under its own name, with the time it took.
"""

from __future__ import annotations

import time

import gevent

CHUNK = 64 * 1024


class DeadlineExceeded(Exception):
    pass


class AnswerTooLarge(Exception):
    pass


def request(client, method: str, path: str, *, name: str, context: dict, deadline_s: float, max_bytes: int,
            check=None, **kwargs) -> None:
    """client.request(method, path) recorded under `name`; `check(response, body)` may mark a read answer failed
    (response.failure(...)). The response time covers the whole body, as Locust's own unstreamed requests do."""
    started_wall, started = time.time(), time.perf_counter()
    timer = gevent.Timeout(deadline_s)
    timer.start()
    try:
        with client.request(method, path, name=name, context=context, stream=True, catch_response=True,
                            **kwargs) as r:
            raw = getattr(r, "_response", None)
            body, problem = _read(raw, max_bytes) if raw is not None else (b"", None)
            r.request_meta["response_time"] = (time.perf_counter() - started) * 1000
            r.request_meta["response_length"] = len(body)
            if problem:
                r.failure(problem)
            elif check is not None and getattr(r, "error", None) is None:
                r._cached_content = body
                check(r, body)
    except gevent.Timeout as t:
        if t is not timer:
            raise
        client.request_event.fire(
            request_type=method, name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=0, response=None, start_time=started_wall, url=path,
            context={**(client.user.context() if client.user else {}), **context},
            exception=DeadlineExceeded(f"no whole answer within {deadline_s:g} s (request_deadline)"))
    finally:
        timer.close()


def _read(raw, max_bytes: int) -> tuple[bytes, str | None]:
    """(body, None), or (what was read, why it stopped) for an answer over max_bytes: the connection is then
    dropped, not read to its end."""
    declared = getattr(raw, "length", None)
    if isinstance(declared, int) and declared > max_bytes:
        _drop(raw)
        return b"", f"answer of {declared / 2**20:.0f} MiB over the {max_bytes / 2**20:g} MiB bound (max_response_mb)"
    parts, got = [], 0
    while True:
        data = raw.read(CHUNK)
        if not data:
            break
        got += len(data)
        if got > max_bytes:
            _drop(raw)
            return b"", f"answer over the {max_bytes / 2**20:g} MiB bound (max_response_mb); not read further"
        parts.append(data)
    raw.release()
    return b"".join(parts), None


def _drop(raw) -> None:
    """Close the connection of an answer not read to its end (it cannot serve another request)."""
    sock = getattr(raw, "_sock", None)
    raw._pool = None  # release() must not hand it back to the pool
    raw._sock = None
    if sock is not None:
        sock.close()
