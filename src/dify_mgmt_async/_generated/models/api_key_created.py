# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ApiKeyCreated")


@_attrs_define
class ApiKeyCreated:
    """A newly created personal access token, with its full token.

    Attributes:
        id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
            valid UUIDs.
        name (str): The key's name.
        token (str): The full token; only in this answer. Hidden from `repr`.
        created_at (int): Unix time in seconds.
        expires_at (int | None): Unix seconds after which it stops working; null if it never expires.
    """

    id: str
    name: str
    token: str = _attrs_field(repr=False)
    created_at: int
    expires_at: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        token = self.token

        created_at = self.created_at

        expires_at: int | None
        expires_at = self.expires_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "token": token,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        token = d.pop("token")

        created_at = d.pop("created_at")

        expires_at = d.pop("expires_at")

        api_key_created = cls(
            id=id,
            name=name,
            token=token,
            created_at=created_at,
            expires_at=expires_at,
        )

        api_key_created.additional_properties = d
        return api_key_created

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
