# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "ed06e546755bb9653c5490542644ccbee9724f19671a2298dafd3510ae67119d"
GENERATOR = "openapi-python-client==0.29.1"
