"""Moved to hgharness.rundir (the run directory is a core fact); this name stays until load/slo.py imports it."""

from hgharness.rundir import write_json, write_junit_suite  # noqa: F401
