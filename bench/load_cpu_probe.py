"""Run Locust (same arguments) and record the CPU time and request count of the test itself, from test_start
to test_stop: start-up (imports, the harness's catalog) and shutdown are fixed costs, not per-request ones.
Both sides of bench_load.py run through this same launcher, so the measurement is symmetric."""

import json
import os
import resource
import sys

from locust import events

marks = {}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@events.test_start.add_listener
def _start(environment, **_kw):
    marks["cpu_start"] = _cpu()


@events.test_stop.add_listener
def _stop(environment, **_kw):
    marks["cpu_stop"] = _cpu()
    marks["requests"] = environment.stats.total.num_requests
    marks["failures"] = environment.stats.total.num_failures
    with open(os.environ["BENCH_CPU_OUT"], "w") as f:
        json.dump(marks, f)


if __name__ == "__main__":
    from locust.main import main

    sys.argv = ["locust", *sys.argv[1:]]
    sys.exit(main())
