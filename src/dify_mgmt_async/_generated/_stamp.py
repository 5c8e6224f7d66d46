# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "b294021c5f1078c97438426c0bdff1cef5c6c971ae3c4ea10ffde2d5b5e38622"
GENERATOR = "openapi-python-client==0.29.1"
