#!/usr/bin/env python3
"""Validate apicv-trace JSON output against cmd/apicv-trace.schema.json.

    validate.py SCHEMA FILE...    each FILE: one JSON document, or JSON lines

Uses the `jsonschema` package (Draft 2020-12) when it can be imported: the
machine image's python3 has it, and Debian ships it as python3-jsonschema.
Without it, a small built-in validator checks the subset of JSON Schema the
schema uses (type, enum, const, required, properties, additionalProperties,
items, minItems, minimum, maximum, minLength, oneOf, $ref), which is enough to catch
a missing key, a wrong type or an unknown key. It says which one it used.
"""
import json
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def mini_validate(schema, root, value, path="$"):
    """Return a list of error strings."""
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        errs = mini_validate(target, root, value, path)
        rest = {k: v for k, v in schema.items() if k not in ("$ref", "description")}
        if rest:
            errs += mini_validate(rest, root, value, path)
        return errs
    errs = []
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not mini_validate(s, root, value, path)]
        if len(ok) != 1:
            errs.append(f"{path}: matches {len(ok)} of oneOf, not 1")
        # the keywords next to oneOf apply as well
        rest = {k: v for k, v in schema.items() if k != "oneOf"}
        if rest:
            errs += mini_validate(rest, root, value, path)
        return errs
    t = schema.get("type")
    if t is not None:
        ts = t if isinstance(t, list) else [t]
        if not any(TYPES[x](value) for x in ts):
            return [f"{path}: {value!r} is not of type {t}"]
    if "const" in schema and value != schema["const"]:
        errs.append(f"{path}: {value!r} != const {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: {value!r} not in {schema['enum']}")
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(f"{path}: {value} < minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(f"{path}: {value} > maximum")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        errs.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, dict):
        for k in schema.get("required", []):
            if k not in value:
                errs.append(f"{path}: missing required {k!r}")
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs += mini_validate(props[k], root, v, f"{path}.{k}")
            else:
                ap = schema.get("additionalProperties", True)
                if ap is False:
                    errs.append(f"{path}: unexpected key {k!r}")
                elif isinstance(ap, dict):
                    errs += mini_validate(ap, root, v, f"{path}.{k}")
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        errs.append(f"{path}: fewer than {schema['minItems']} items")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errs += mini_validate(schema["items"], root, v, f"{path}[{i}]")
    return errs


def documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    try:
        import jsonschema  # noqa: F401
        from jsonschema import Draft202012Validator
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)

        def check(doc):
            return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                    for e in validator.iter_errors(doc)]
        how = "jsonschema (Draft 2020-12)"
    except ImportError:
        def check(doc):
            return mini_validate(schema, schema, doc)
        how = "built-in subset validator (no jsonschema module)"
    bad = 0
    n = 0
    for path in sys.argv[2:]:
        for doc in documents(path):
            n += 1
            errs = check(doc)
            for e in errs:
                print(f"{path}: {e}", file=sys.stderr)
            bad += bool(errs)
    print(f"validate.py: {n} documents, {bad} invalid, with {how}")
    return 1 if bad or not n else 0


if __name__ == "__main__":
    sys.exit(main())
