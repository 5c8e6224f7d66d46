# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "34ec3caefba2d7514730e53e2b9e9345e1a5dd79f0f340fccd1177012cb4b1fe"
GENERATOR = "openapi-python-client==0.29.1"
