"""summary.json validation (jsonschema against reports/summary.schema.json): one line per problem, at its path."""

import copy

from hgharness.reports.schema import validate_summary

VALID = {"schema": "hgharness.run/1", "harness_version": "0.1.0", "run_id": "r1", "command": "run",
         "started": "2024-01-02T03:04:05Z", "ended": None, "duration_s": 1.5,
         "target": {"url": "http://127.0.0.1:8000/", "site": "hgweb", "password": None},
         "verdict": "passed", "exit_code": 0,
         "stages": [{"name": "headless", "status": "passed", "exit_code": 0, "counts": {"passed": 3}}],
         "tests": [{"id": "t", "outcome": "passed", "duration_s": 0.1}],
         "actions": {"page.log": {"count": 3, "failures": 0, "p50_ms": 1.0, "ops_per_s": 2.0}},
         "slo": [{"gate": "log p95_ms <= 800", "status": "passed", "observed": 3, "threshold": 800}],
         "traffic": None, "warnings": []}


def test_a_valid_summary_has_no_problem():
    assert validate_summary(VALID) == []


def test_each_problem_is_one_line_at_its_path():
    bad = copy.deepcopy(VALID)
    del bad["run_id"]
    bad.update({"verdict": "mostly fine", "surprise": 1, "odd key": 2, "tests": {"t": "x" * 5000}, "exit_code": True})
    bad["stages"][0]["exit_code"] = 7
    bad["actions"]["page.log"]["p95_ms"] = -1
    bad["target"]["password"] = "hunter2"
    errors = validate_summary(bad)
    assert all("\n" not in e and len(e) < 400 for e in errors), errors
    expected = {"$: 'run_id' is a required property", "$.surprise: field not in the schema", "$['odd key']: field not",
                "$.verdict: 'mostly fine' is not one of", "$.stages[0].exit_code: 7 is not one of",
                "$.tests: expected array, got object", "$.exit_code: True is not one of",
                "$.actions['page.log'].p95_ms: -1 is less than the minimum of 0", "$.target.password: 'hunter2'"}
    for start in expected:
        assert sum(e.startswith(start) for e in errors) == 1, (start, errors)
    assert len(errors) == len(expected), errors
