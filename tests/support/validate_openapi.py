"""Validates an OpenAPI document with the `openapi-spec-validator` package, for the Rust tests:
the JSON on stdin; exits 0 if valid, else 1 with the validator's message on stderr.
"""
import json
import sys

from openapi_spec_validator import validate

try:
    validate(json.load(sys.stdin))
except Exception as e:  # the validator's own error types; any of them is a refusal
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
