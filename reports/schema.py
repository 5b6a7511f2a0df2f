"""Validate summary.json against reports/summary.schema.json, without a jsonschema dependency.

Implements the part of JSON Schema (2020-12) the summary schema uses: type, enum, const, required, properties,
patternProperties, additionalProperties (boolean or schema), items, minimum, minLength, pattern and local $ref.
A keyword it does not know is an error here, so the schema cannot silently use more than is checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "$defs", "default", "examples"}
KNOWN = ANNOTATIONS | {"type", "enum", "const", "required", "properties", "patternProperties", "additionalProperties",
                       "items", "minimum", "minLength", "pattern", "$ref"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(value, schema: dict, root: dict | None = None, path: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, as 'path: problem' lines (empty when valid)."""
    root = root if root is not None else schema
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{path}: schema uses unsupported keyword(s) {', '.join(sorted(unknown))}"]
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return [f"{path}: only local $ref is supported, not {ref}"]
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        return validate(value, target, root, path)
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {_kind(value)}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}, got {value!r}")
    if "enum" in schema and not any(_same(value, x) for x in schema["enum"]):
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "minimum" in schema:
        if value < schema["minimum"]:
            errors.append(f"{path}: {value} is below the minimum {schema['minimum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += validate(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing required field {key!r}")
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            where = f"{path}.{key}"
            matched = False
            if key in props:
                matched = True
                errors += validate(item, props[key], root, where)
            for pat, sub in patterns.items():
                if re.search(pat, key):
                    matched = True
                    errors += validate(item, sub, root, where)
            if not matched:
                if extra is False:
                    errors.append(f"{where}: field not in the schema (add it to summary.schema.json)")
                elif isinstance(extra, dict):
                    errors += validate(item, extra, root, where)
    return errors


def _same(a, b) -> bool:
    # JSON: 1 and true are different values; Python says 1 == True
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _kind(value) -> str:
    for name, check in TYPES.items():
        if name != "number" and check(value):
            return name
    return "number" if TYPES["number"](value) else type(value).__name__


def validate_summary(summary) -> list[str]:
    return validate(summary, load_schema())
