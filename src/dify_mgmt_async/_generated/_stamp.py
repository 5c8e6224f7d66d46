# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "88a186cb8af9a2f0ffa86cd48c4fcea9bf4fce93eeb6a4a7cce7ca5d0c770e60"
GENERATOR = "openapi-python-client==0.29.1"
