# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.workspace_update_plan_settings import WorkspaceUpdatePlanSettings


T = TypeVar("T", bound="WorkspaceUpdate")


@_attrs_define
class WorkspaceUpdate:
    """Changes to the workspace; fields left out keep their value.

    Attributes:
        name (str | Unset): The workspace's name.
        plan_settings (WorkspaceUpdatePlanSettings | Unset): Plan settings; free-form.
    """

    name: str | Unset = UNSET
    plan_settings: WorkspaceUpdatePlanSettings | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        plan_settings: dict[str, Any] | Unset = UNSET
        if not isinstance(self.plan_settings, Unset):
            plan_settings = self.plan_settings.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if plan_settings is not UNSET:
            field_dict["plan_settings"] = plan_settings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workspace_update_plan_settings import WorkspaceUpdatePlanSettings  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name", UNSET)

        _plan_settings = d.pop("plan_settings", UNSET)
        plan_settings: WorkspaceUpdatePlanSettings | Unset
        if isinstance(_plan_settings, Unset):
            plan_settings = UNSET
        else:
            plan_settings = WorkspaceUpdatePlanSettings.from_dict(_plan_settings)

        workspace_update = cls(
            name=name,
            plan_settings=plan_settings,
        )

        return workspace_update
