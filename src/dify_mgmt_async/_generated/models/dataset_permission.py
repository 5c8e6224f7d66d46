# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from enum import StrEnum


class DatasetPermission(StrEnum):
    ALL_TEAM_MEMBERS = "all_team_members"
    ONLY_ME = "only_me"

    def __str__(self) -> str:
        return str(self.value)
