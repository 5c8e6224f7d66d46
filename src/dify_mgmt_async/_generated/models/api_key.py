# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiKey")


@_attrs_define
class ApiKey:
    """A personal access token, without its secret part; the contract's fields are required (`token_first_8` is ours and
    optional).

        Attributes:
            id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
                valid UUIDs.
            name (str): The key's name.
            last_used_at (int | None): Unix seconds of the last request made with it; null if never used.
            created_at (int): Unix time in seconds.
            expires_at (int | None): Unix seconds after which it stops working; null if it never expires.
            token_first_8 (str | Unset): The first 8 characters of the token.
    """

    id: str
    name: str
    last_used_at: int | None
    created_at: int
    expires_at: int | None
    token_first_8: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        last_used_at: int | None
        last_used_at = self.last_used_at

        created_at = self.created_at

        expires_at: int | None
        expires_at = self.expires_at

        token_first_8 = self.token_first_8

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "last_used_at": last_used_at,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )
        if token_first_8 is not UNSET:
            field_dict["token_first_8"] = token_first_8

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        last_used_at = d.pop("last_used_at")

        created_at = d.pop("created_at")

        expires_at = d.pop("expires_at")

        token_first_8 = d.pop("token_first_8", UNSET)

        api_key = cls(
            id=id,
            name=name,
            last_used_at=last_used_at,
            created_at=created_at,
            expires_at=expires_at,
            token_first_8=token_first_8,
        )

        api_key.additional_properties = d
        return api_key

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
