# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from enum import StrEnum


class ApiKeyResetType(StrEnum):
    API_KEY = "api_key"
    API_SECRET = "api_secret"

    def __str__(self) -> str:
        return str(self.value)
