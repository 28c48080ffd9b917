#!/usr/bin/env python3
"""Checks live answers of the services against api/openapi.yaml.

    openapi_check.py SPEC RECORDS

SPEC is api/openapi.yaml; it must be a valid OpenAPI 3.0 document (openapi-spec-validator, when
installed: pip has it, Debian 12 does not; without it only the version and paths are checked).
RECORDS holds one JSON object per line, an answer the test received:
    {"method": "GET", "template": "/v1/canisters/{canister_id}", "status": 200,
     "content_type": "application/json", "body": "<the body as text>"}
Each answer must be documented: the template is a path of the spec, the method one of its
operations, the status one of the operation's responses, the content type one of that
response's, and a JSON body must validate against its schema ($refs resolved, OpenAPI's
`nullable` read as JSON Schema's null type). Prints one line per answer and exits 1 when any
failed, 2 on a usage error or an invalid spec.
"""
import json
import sys

import jsonschema
import yaml

try:  # pip's openapi-spec-validator; Debian 12 does not package it
    from openapi_spec_validator import validate as validate_spec
except ImportError:
    validate_spec = None


def resolve(spec, node, seen=()):
    """A copy of node with every $ref replaced by its target and nullable made JSON Schema."""
    if isinstance(node, list):
        return [resolve(spec, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref '{ref}'")
        target = spec
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return resolve(spec, target, seen + (ref,))
    out = {key: resolve(spec, value, seen) for key, value in node.items()}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    out.pop("example", None)
    out.pop("examples", None)
    return out


def check(spec, record):
    """The reason the record does not fit the spec, or None."""
    path = spec["paths"].get(record["template"])
    if path is None:
        return f"path '{record['template']}' is not in the spec"
    operation = path.get(record["method"].lower())
    if operation is None:
        return f"'{record['method']} {record['template']}' is not in the spec"
    status = str(record["status"])
    responses = operation["responses"]
    response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if response is None:
        return f"status {status} is not documented (documented: {', '.join(sorted(responses))})"
    response = resolve(spec, response)
    content = response.get("content")
    if not content:
        return None
    ctype = record["content_type"].split(";")[0].strip()
    media = content.get(ctype)
    if media is None:
        for name, value in content.items():
            if name.split(";")[0].strip() == ctype:
                media = value
    if media is None:
        return f"content type '{ctype}' is not documented ({', '.join(content)})"
    schema = media.get("schema")
    if schema is None or "json" not in ctype:
        return None
    try:
        body = json.loads(record["body"])
    except ValueError as e:
        return f"the body is not JSON: {e}"
    try:
        jsonschema.Draft7Validator(schema).validate(body)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        return f"body at {where}: {e.message}"
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = yaml.safe_load(f)
    if validate_spec is None:
        # without the validator: the version and the paths; each answer's $refs are still
        # resolved and its schema applied below
        if not str(spec.get("openapi", "")).startswith("3.0") or not spec.get("paths"):
            print("FAIL the spec is not an OpenAPI 3.0 document with paths", file=sys.stderr)
            return 2
        print("note: openapi-spec-validator is not installed: the document itself is checked "
              "for its version and paths only")
    else:
        try:
            validate_spec(spec)
        except Exception as e:  # the validator raises several kinds
            print(f"FAIL the spec is not valid OpenAPI: {e}", file=sys.stderr)
            return 2
    failed = 0
    count = 0
    with open(argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            count += 1
            reason = check(spec, record)
            name = f"{record['method']} {record['template']} {record['status']}"
            if reason:
                failed += 1
                print(f"FAIL {name}: {reason}")
                print(f"     body: {record['body'][:300]}")
            else:
                print(f"ok   {name}")
    print(f"openapi_check: {count} answers, {failed} not as documented")
    return 1 if failed or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
