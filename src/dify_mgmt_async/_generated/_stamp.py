# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "0c201b86f2449435741ce9200added166245f0968735b1ec274ff3223933ed44"
GENERATOR = "openapi-python-client==0.29.1"
