# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dataset_permission import DatasetPermission
from ..types import UNSET, Unset

T = TypeVar("T", bound="Dataset")


@_attrs_define
class Dataset:
    """A knowledge dataset.

    Attributes:
        id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
            valid UUIDs.
        name (str): The dataset's name.
        description (None | str | Unset): What the dataset holds.
        permission (DatasetPermission | str | Unset): A dataset's permission as a server reports it; an unknown value is
            kept as a string.
        document_count (int | Unset): Number of documents.
        word_count (int | Unset): Words across indexed documents.
        created_at (int | Unset): Unix time in seconds.
        updated_at (int | Unset): Unix time in seconds.
    """

    id: str
    name: str
    description: None | str | Unset = UNSET
    permission: DatasetPermission | str | Unset = UNSET
    document_count: int | Unset = UNSET
    word_count: int | Unset = UNSET
    created_at: int | Unset = UNSET
    updated_at: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        permission: str | Unset
        if isinstance(self.permission, Unset):
            permission = UNSET
        elif isinstance(self.permission, DatasetPermission):
            permission = self.permission.value
        else:
            permission = self.permission

        document_count = self.document_count

        word_count = self.word_count

        created_at = self.created_at

        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if permission is not UNSET:
            field_dict["permission"] = permission
        if document_count is not UNSET:
            field_dict["document_count"] = document_count
        if word_count is not UNSET:
            field_dict["word_count"] = word_count
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        description = d.pop("description", UNSET)

        permission = d.pop("permission", UNSET)
        if isinstance(permission, str):
            permission = DatasetPermission._value2member_map_.get(permission, permission)

        document_count = d.pop("document_count", UNSET)

        word_count = d.pop("word_count", UNSET)

        created_at = d.pop("created_at", UNSET)

        updated_at = d.pop("updated_at", UNSET)

        dataset = cls(
            id=id,
            name=name,
            description=description,
            permission=permission,
            document_count=document_count,
            word_count=word_count,
            created_at=created_at,
            updated_at=updated_at,
        )

        dataset.additional_properties = d
        return dataset

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
