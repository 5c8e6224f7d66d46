# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiKeyCreate")


@_attrs_define
class ApiKeyCreate:
    """A new personal access token.

    Attributes:
        name (str): The key's name.
        expires_at (float | Unset): When it stops working, in Unix seconds (the SDK also takes a datetime); it must be
            in the future. Left out, it never expires. A `Number` in the contract, so fractions are accepted.
    """

    name: str
    expires_at: float | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        expires_at = self.expires_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        expires_at = d.pop("expires_at", UNSET)

        api_key_create = cls(
            name=name,
            expires_at=expires_at,
        )

        return api_key_create
