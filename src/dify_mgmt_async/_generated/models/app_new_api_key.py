# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AppNewApiKey")


@_attrs_define
class AppNewApiKey:
    """The answer to a reset: the new value of the key that was reset (the contract's "如果重置了", if it was reset); the other
    is left out, and no `created_at` comes with it.

        Attributes:
            api_key (str | Unset): The new front-end key, if it was the one reset.
            api_secret (str | Unset): The new back-end secret, if it was the one reset. Hidden from `repr`.
    """

    api_key: str | Unset = UNSET
    api_secret: str | Unset = _attrs_field(default=UNSET, repr=False)
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        api_key = self.api_key

        api_secret = self.api_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if api_key is not UNSET:
            field_dict["api_key"] = api_key
        if api_secret is not UNSET:
            field_dict["api_secret"] = api_secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        api_key = d.pop("api_key", UNSET)

        api_secret = d.pop("api_secret", UNSET)

        app_new_api_key = cls(
            api_key=api_key,
            api_secret=api_secret,
        )

        app_new_api_key.additional_properties = d
        return app_new_api_key

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
