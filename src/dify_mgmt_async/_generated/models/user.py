# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="User")


@_attrs_define
class User:
    """A user; every field of the contract's table is required (`avatar` is null without one).

    Attributes:
        id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
            valid UUIDs.
        name (str): The user's name.
        email (str): The user's email address.
        avatar (None | str): The URL of the user's avatar.
        created_at (int): Unix time in seconds.
        role (str): The user's role in the workspace, such as `owner`, `admin`, `editor`, `normal`.
    """

    id: str
    name: str
    email: str
    avatar: None | str
    created_at: int
    role: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        email = self.email

        avatar: None | str
        avatar = self.avatar

        created_at = self.created_at

        role = self.role

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "email": email,
                "avatar": avatar,
                "created_at": created_at,
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        email = d.pop("email")

        avatar = d.pop("avatar")

        created_at = d.pop("created_at")

        role = d.pop("role")

        user = cls(
            id=id,
            name=name,
            email=email,
            avatar=avatar,
            created_at=created_at,
            role=role,
        )

        user.additional_properties = d
        return user

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
