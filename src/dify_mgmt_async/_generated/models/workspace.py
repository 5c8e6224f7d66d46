# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.workspace_features import WorkspaceFeatures
    from ..models.workspace_usage import WorkspaceUsage


T = TypeVar("T", bound="Workspace")


@_attrs_define
class Workspace:
    """The workspace; every field of the contract's table is required.

    Attributes:
        id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
            valid UUIDs.
        name (str): The workspace's name.
        created_at (int): Unix time in seconds.
        plan (str): The current plan, such as `sandbox`, `professional`, `team`.
        features (WorkspaceFeatures): Features and whether each is on; free-form.
        usage (WorkspaceUsage): Usage counters; free-form.
    """

    id: str
    name: str
    created_at: int
    plan: str
    features: WorkspaceFeatures
    usage: WorkspaceUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        created_at = self.created_at

        plan = self.plan

        features = self.features.to_dict()

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "created_at": created_at,
                "plan": plan,
                "features": features,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workspace_features import WorkspaceFeatures  # noqa: PLC0415
        from ..models.workspace_usage import WorkspaceUsage  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        created_at = d.pop("created_at")

        plan = d.pop("plan")

        features = WorkspaceFeatures.from_dict(d.pop("features"))

        usage = WorkspaceUsage.from_dict(d.pop("usage"))

        workspace = cls(
            id=id,
            name=name,
            created_at=created_at,
            plan=plan,
            features=features,
            usage=usage,
        )

        workspace.additional_properties = d
        return workspace

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
