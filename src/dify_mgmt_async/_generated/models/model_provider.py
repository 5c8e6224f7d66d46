# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ModelProvider")


@_attrs_define
class ModelProvider:
    """A model provider; every field of the contract's table is required.

    Attributes:
        provider (str): The provider's identifier.
        provider_name (str): The provider's display name.
        is_configured (bool): Whether credentials are set.
        supported_model_types (list[str]): The model types it serves.
    """

    provider: str
    provider_name: str
    is_configured: bool
    supported_model_types: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        provider = self.provider

        provider_name = self.provider_name

        is_configured = self.is_configured

        supported_model_types = self.supported_model_types

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "provider": provider,
                "provider_name": provider_name,
                "is_configured": is_configured,
                "supported_model_types": supported_model_types,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        provider = d.pop("provider")

        provider_name = d.pop("provider_name")

        is_configured = d.pop("is_configured")

        supported_model_types = cast(list[str], d.pop("supported_model_types"))

        model_provider = cls(
            provider=provider,
            provider_name=provider_name,
            is_configured=is_configured,
            supported_model_types=supported_model_types,
        )

        model_provider.additional_properties = d
        return model_provider

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
