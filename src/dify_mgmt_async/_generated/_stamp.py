# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "897e548af6d72c326e666835332211ceeee811de97018887cab3f67838155b46"
GENERATOR = "openapi-python-client==0.29.1"
