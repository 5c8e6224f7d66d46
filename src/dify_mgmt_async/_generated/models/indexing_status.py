# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from enum import StrEnum


class IndexingStatus(StrEnum):
    CLEANING = "cleaning"
    COMPLETED = "completed"
    ERROR = "error"
    INDEXING = "indexing"
    PARSING = "parsing"
    PAUSED = "paused"
    SPLITTING = "splitting"
    WAITING = "waiting"

    def __str__(self) -> str:
        return str(self.value)
