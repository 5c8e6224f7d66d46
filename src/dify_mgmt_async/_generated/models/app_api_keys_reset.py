# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.api_key_reset_type import ApiKeyResetType

T = TypeVar("T", bound="AppApiKeysReset")


@_attrs_define
class AppApiKeysReset:
    """Which key to reset.

    Attributes:
        type_ (ApiKeyResetType): Which of an app's keys to reset.
    """

    type_: ApiKeyResetType

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = ApiKeyResetType(d.pop("type"))

        app_api_keys_reset = cls(
            type_=type_,
        )

        return app_api_keys_reset
