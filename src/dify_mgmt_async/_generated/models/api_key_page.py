# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.api_key import ApiKey


T = TypeVar("T", bound="ApiKeyPage")


@_attrs_define
class ApiKeyPage:
    """One page of personal access tokens.

    Attributes:
        limit (int): Items per page.
        data (list[ApiKey]):
        total (int | None): Number of items across all pages; `None` in the SDK when the server leaves it out.
        page (int | None): This page's number; `None` in the SDK when the server leaves it out.
        has_more (bool | None): Whether a next page exists; `None` in the SDK when the server leaves it out.
    """

    limit: int
    data: list[ApiKey]
    total: int | None = None
    page: int | None = None
    has_more: bool | None = None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        limit = self.limit

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        total = self.total

        page = self.page

        has_more = self.has_more

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "limit": limit,
                "data": data,
            }
        )
        if total is not None:
            field_dict["total"] = total
        if page is not None:
            field_dict["page"] = page
        if has_more is not None:
            field_dict["has_more"] = has_more

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.api_key import ApiKey  # noqa: PLC0415

        d = dict(src_dict)
        limit = d.pop("limit")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = ApiKey.from_dict(data_item_data)

            data.append(data_item)

        total = d.pop("total", None)

        page = d.pop("page", None)

        has_more = d.pop("has_more", None)

        api_key_page = cls(
            limit=limit,
            data=data,
            total=total,
            page=page,
            has_more=has_more,
        )

        api_key_page.additional_properties = d
        return api_key_page

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
