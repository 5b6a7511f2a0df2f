"""The harness's locustfile. `hgharness load` runs it; by hand (same environment variables the harness sets):

    HGHARNESS_TARGET=http://127.0.0.1:8000/ HGHARNESS_FIXTURE_DIR=/path/to/repos \\
        locust -f load/locustfile.py --headless --hg-mix browse-heavy --hg-shape step -u 20 -r 5 -t 2m \\
        AnonymousBrowser ApiClient CIBot

Every run is played by HarnessShape (so it is bounded: the shape ends the test at --run-time, default 60 s).
"""

import json
import os

from locust import LoadTestShape

from hgharness.load import collect, shapes  # noqa: F401  (collect registers the event hooks and the --hg-* options)
from hgharness.load.users import AnonymousBrowser, ApiClient, CIBot, Developer  # noqa: F401

if Developer is None:
    del Developer  # not a user class in this build (no load/hguser.py)


class HarnessShape(LoadTestShape):
    """Plays load/shapes.py's stages for --hg-shape with Locust's own --users, --spawn-rate and --run-time."""

    use_common_options = True
    _stages = None
    _search = None

    def tick(self):
        if self._stages is None:
            o = self.runner.environment.parsed_options
            duration = o.run_time or shapes.default_duration(o.hg_shape)
            curve = None
            if o.hg_shape == "daily":  # the derived mix's day
                curve = (collect.mix_of(self.runner.environment)["daily"] or {}).get("rate")
            type(self)._stages = shapes.plan(o.hg_shape, int(o.num_users or 1), float(o.spawn_rate or 1),
                                             duration, curve=curve)
            if o.hg_shape == "capacity":  # limits from slo.toml's [capacity], handed down by the harness
                limits = json.loads(os.environ.get("HGHARNESS_LOAD_CAPACITY") or "{}")
                search = shapes.CapacitySearch(self._stages, limits.get("p95_ms", 1000),
                                               limits.get("error_rate", 0.01), limits.get("min_gain", 0.05))
                type(self)._search = self.runner.environment.hgharness.capacity_search = search
        if self._search is not None:
            return self._search.at(self.get_run_time(), self.runner.environment.hgharness.measure)
        return shapes.at(self._stages, self.get_run_time())
