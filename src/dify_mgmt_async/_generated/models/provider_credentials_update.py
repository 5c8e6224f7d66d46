# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.provider_credentials_update_credentials import ProviderCredentialsUpdateCredentials


T = TypeVar("T", bound="ProviderCredentialsUpdate")


@_attrs_define
class ProviderCredentialsUpdate:
    """A provider's new credentials.

    Attributes:
        credentials (ProviderCredentialsUpdateCredentials): Provider-specific keys and values; free-form.
    """

    credentials: ProviderCredentialsUpdateCredentials

    def to_dict(self) -> dict[str, Any]:
        credentials = self.credentials.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "credentials": credentials,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.provider_credentials_update_credentials import ProviderCredentialsUpdateCredentials  # noqa: PLC0415

        d = dict(src_dict)
        credentials = ProviderCredentialsUpdateCredentials.from_dict(d.pop("credentials"))

        provider_credentials_update = cls(
            credentials=credentials,
        )

        return provider_credentials_update
