# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from enum import StrEnum


class AppMode(StrEnum):
    AGENT_CHAT = "agent_chat"
    CHAT = "chat"
    COMPLETION = "completion"
    WORKFLOW = "workflow"

    def __str__(self) -> str:
        return str(self.value)
