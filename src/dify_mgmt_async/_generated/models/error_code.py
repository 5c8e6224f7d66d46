# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from enum import StrEnum


class ErrorCode(StrEnum):
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    INTERNAL_SERVER_ERROR = "internal_server_error"
    INVALID_PARAM = "invalid_param"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"

    def __str__(self) -> str:
        return str(self.value)
