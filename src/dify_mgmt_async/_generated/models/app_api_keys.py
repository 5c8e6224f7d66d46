# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AppApiKeys")


@_attrs_define
class AppApiKeys:
    """An app's keys, as the get answer lists them (a reset answers with `AppNewApiKey`). Only `created_at` is required;
    each key is read if present.

        Attributes:
            created_at (int): Unix time in seconds.
            api_key (str | Unset): The front-end key.
            api_secret (str | Unset): The back-end secret. Hidden from `repr`.
    """

    created_at: int
    api_key: str | Unset = UNSET
    api_secret: str | Unset = _attrs_field(default=UNSET, repr=False)
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        api_key = self.api_key

        api_secret = self.api_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
            }
        )
        if api_key is not UNSET:
            field_dict["api_key"] = api_key
        if api_secret is not UNSET:
            field_dict["api_secret"] = api_secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        api_key = d.pop("api_key", UNSET)

        api_secret = d.pop("api_secret", UNSET)

        app_api_keys = cls(
            created_at=created_at,
            api_key=api_key,
            api_secret=api_secret,
        )

        app_api_keys.additional_properties = d
        return app_api_keys

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
