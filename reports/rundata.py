"""Everything the report reads from one run directory, and the links and images that point inside it."""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

from hgharness.reports import sources
from hgharness.reports.cells import Image, Link
from hgharness.reports.samples import read_samples

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
INLINE_IMAGE_MAX = 1_500_000  # bytes: bigger screenshots are linked, not inlined
INLINE_IMAGES_TOTAL = 20


class Report:
    """The run directory's files, each read once; a damaged one is noted in problems, never fatal."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir.resolve()
        self.problems = sources.Problems()
        self.summary = sources.read_json(run_dir / "summary.json", self.problems) or {}
        if not isinstance(self.summary, dict):
            self.problems.append("summary.json: not a JSON object")
            self.summary = {}
        self.samples = read_samples(run_dir)
        self.locust = sources.locust_stats(run_dir, self.problems)
        self.history = sources.locust_history(run_dir, self.problems)
        self.locust_failures = sources.locust_failures(run_dir, self.problems)
        self.functional = sources.functional_timings(run_dir, self.problems)
        self.traffic_file = sources.read_json(run_dir / "traffic.json", self.problems)
        self.images_inlined = 0

    def rel(self, path) -> str | None:
        """Path relative to the run directory, or None when it points outside (never linked)."""
        p = Path(str(path))
        if not p.is_absolute():
            p = self.dir / p
        try:
            return p.resolve().relative_to(self.dir).as_posix()
        except (ValueError, OSError):
            return None

    def link(self, path, label=None) -> Link:
        rel = self.rel(path)
        if rel is None:
            return Link(str(label or path))
        return Link(str(label or rel), urllib.parse.quote(rel))

    def image(self, path) -> Image | Link | str:
        """Inlined while small and few (the page must stay light), else a link."""
        rel = self.rel(path)
        if rel is None:
            return str(path)
        full = self.dir / rel
        mime = IMAGE_TYPES.get(full.suffix.lower())
        try:
            size = full.stat().st_size
        except OSError:
            return rel + " (missing)"
        if mime and size <= INLINE_IMAGE_MAX and self.images_inlined < INLINE_IMAGES_TOTAL:
            self.images_inlined += 1
            return Image(self.link(rel), mime, base64.b64encode(full.read_bytes()).decode("ascii"))
        return self.link(rel)
