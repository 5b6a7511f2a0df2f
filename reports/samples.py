"""Raw latency samples of a run: what `hgharness report compare` tests, and the over-time charts draw.

Where and how (every helper that times an action writes here):

    <run_dir>/samples/<source>-<pid>.jsonl      one JSON object per line, one line per timed operation:
        {"action": "log", "ms": 12.41, "t": 1764358712.503, "ok": true}

    action  the action name, the same everywhere (Locust `name=`, the headless check id, the Selenium step)
    ms      latency in milliseconds (float)
    t       when the operation ended, Unix seconds (float; optional: null when unknown)
    ok      false when the operation failed (optional, default true); failed operations are kept apart
    pair    A/B runs: the id shared by the two sides of one task (optional; load/ab.py)
    work    A/B traffic: [changesets, bytes] the operation moved (optional): the two sides of a pair are
            compared only when they did the same work (load/ab.py same_work)

Each writer process has its own file (the pid in the name), so Locust worker processes, pytest-xdist workers
and threads of one process never interleave partial lines; a reader merges every *.jsonl file in the folder.
`source` says who wrote the file (locust, traffic, functional, headless ...). Readers skip lines they cannot
parse (a writer killed mid-line) and count them.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

SAMPLES_DIR = "samples"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def samples_path(run_dir: str | os.PathLike, source: str) -> Path:
    folder = Path(run_dir) / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_SAFE.sub('_', source) or 'samples'}-{os.getpid()}.jsonl"


def _line(action: str, ms: float, t: float | None, ok: bool, pair: str | None = None, work=None) -> str:
    rec = {"action": str(action), "ms": round(float(ms), 3), "t": None if t is None else round(float(t), 3)}
    if not ok:
        rec["ok"] = False
    if pair is not None:  # A/B runs: the id shared by the two sides of one task (load/ab.py)
        rec["pair"] = pair
    if work is not None:
        rec["work"] = [int(x) for x in work]
    return json.dumps(rec, ensure_ascii=False) + "\n"


def write_samples(run_dir: str | os.PathLike, action: str, list_ms, source: str = "samples",
                  t: float | list | None = None, ok: bool = True) -> Path:
    """Append the latencies (ms) of one action to this process's sample file; returns the file.

    `t` is one end time for all of them, or a list parallel to list_ms, or None (unknown).
    """
    values = list(list_ms)
    times = t if isinstance(t, (list, tuple)) else [t] * len(values)
    if len(times) != len(values):
        raise ValueError("t must be a number, None or a list as long as list_ms")
    path = samples_path(run_dir, source)
    text = "".join(_line(action, ms, tt, ok) for ms, tt in zip(values, times, strict=True))
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return path


class SampleWriter:
    """Buffered, thread-safe recorder for code that times operations one by one (a Locust request hook).

        writer = SampleWriter(run_dir, "locust")
        writer.add("log", 12.4)               # t defaults to now
        writer.close()                        # or use as a context manager; flushes every 1000 samples
    """

    def __init__(self, run_dir: str | os.PathLike, source: str, flush_every: int = 1000):
        self.run_dir, self.source, self.flush_every = Path(run_dir), source, flush_every
        self._buf: list[str] = []
        self._lock = threading.Lock()
        self.count = 0

    def add(self, action: str, ms: float, ok: bool = True, t: float | None = None, pair: str | None = None,
            work=None) -> None:
        line = _line(action, ms, time.time() if t is None else t, ok, pair, work)
        with self._lock:
            self._buf.append(line)
            self.count += 1
            if len(self._buf) >= self.flush_every:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buf:
            return
        # the path carries the pid: a forked writer (Locust --processes) gets its own file
        with open(samples_path(self.run_dir, self.source), "a", encoding="utf-8") as f:
            f.write("".join(self._buf))
        self._buf.clear()

    close = flush

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.flush()


class Samples:
    """The samples of one run: action -> list of (t, ms) for successes, and failure counts."""

    def __init__(self):
        self.ok: dict[str, list[tuple[float | None, float]]] = {}
        self.failed: dict[str, int] = {}
        self.bad_lines = 0
        self.files: list[Path] = []

    def actions(self) -> list[str]:
        return sorted(set(self.ok) | set(self.failed))

    def latencies(self, action: str) -> list[float]:
        """Latencies in time order when every sample has a time, else in file order."""
        rows = self.ok.get(action, [])
        if rows and all(t is not None for t, _ in rows):
            rows = sorted(rows, key=lambda r: r[0])
        return [ms for _, ms in rows]

    def count(self, action: str) -> tuple[int, int]:
        """(successes, failures)"""
        return len(self.ok.get(action, [])), self.failed.get(action, 0)

    def __bool__(self):
        return bool(self.ok or self.failed)


def read_samples(run_dir: str | os.PathLike, source: str | None = None) -> Samples:
    """Every sample file of the run, or only those `source` wrote (e.g. "locust")."""
    out = Samples()
    folder = Path(run_dir) / SAMPLES_DIR
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob(f"{source}-*.jsonl" if source else "*.jsonl")):
        out.files.append(path)
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    action, ms = str(rec["action"]), float(rec["ms"])
                    t = rec.get("t")
                    t = None if t is None else float(t)
                    if ms != ms or ms < 0:  # NaN or negative: not a latency
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    out.bad_lines += 1
                    continue
                if rec.get("ok", True) is False:
                    out.failed[action] = out.failed.get(action, 0) + 1
                else:
                    out.ok.setdefault(action, []).append((t, ms))
    return out
