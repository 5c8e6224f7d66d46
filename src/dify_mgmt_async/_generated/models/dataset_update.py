# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.dataset_permission import DatasetPermission
from ..types import UNSET, Unset

T = TypeVar("T", bound="DatasetUpdate")


@_attrs_define
class DatasetUpdate:
    """Changes to a dataset; fields left out keep their value.

    Attributes:
        name (str | Unset): The dataset's name; unique in the workspace.
        description (str | Unset): What the dataset holds.
        permission (DatasetPermission | Unset): Who can see a dataset.
    """

    name: str | Unset = UNSET
    description: str | Unset = UNSET
    permission: DatasetPermission | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        permission: str | Unset = UNSET
        if not isinstance(self.permission, Unset):
            permission = self.permission.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if permission is not UNSET:
            field_dict["permission"] = permission

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        description = d.pop("description", UNSET)

        _permission = d.pop("permission", UNSET)
        permission: DatasetPermission | Unset
        if isinstance(_permission, Unset):
            permission = UNSET
        else:
            permission = DatasetPermission(_permission)

        dataset_update = cls(
            name=name,
            description=description,
            permission=permission,
        )

        return dataset_update
