"""Validate summary.json against reports/summary.schema.json (JSON Schema 2020-12, checked by jsonschema).

Each problem is one line, 'path: problem', the path in JSONPath form ($.stages[0].exit_code), so that
`hgharness report validate` prints one line per problem.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
MAX_MESSAGE = 300  # a wrong value quoted in a message stays readable on one line


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)  # a mistake in the schema is the harness's, said at once
    return Draft202012Validator(schema)


def validate_summary(summary) -> list[str]:
    """Every way `summary` breaks the schema, as 'path: problem' lines (empty when valid)."""
    out = []
    for err in _validator().iter_errors(summary):
        if err.validator == "additionalProperties" and err.validator_value is False:
            # one line per unexpected field, at its own path, with what to do about it
            out += [f"{_json_path(err, key)}: field not in the schema (add it to summary.schema.json)"
                    for key in _unexpected(err.instance, err.schema)]
        elif err.validator == "type":  # jsonschema quotes the whole wrong value; its kind says enough
            types = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            out.append(f"{err.json_path}: expected {' or '.join(types)}, got {_kind(err.instance)}")
        else:
            out.append(f"{err.json_path}: {_short(err.message)}")
    return out


def _json_path(err: ValidationError, key: str) -> str:
    """The path of a field below err's value, written as jsonschema writes paths."""
    return ValidationError("", path=[*err.absolute_path, key]).json_path


def _kind(value) -> str:
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
    return "null" if value is None else next((name for t, name in kinds if isinstance(value, t)), type(value).__name__)


def _unexpected(instance: dict, schema: dict) -> list[str]:
    patterns = schema.get("patternProperties", {})
    return [k for k in instance if k not in schema.get("properties", {}) and not any(re.search(p, k) for p in patterns)]


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 1] + "\u2026"
