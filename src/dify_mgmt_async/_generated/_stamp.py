# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""What this code was generated from."""

SPEC_SHA256 = "c5a730d2599603625f0488b9ef374de1ebe22db5d4bc6efb38eba29b60f24341"
GENERATOR = "openapi-python-client==0.29.1"
