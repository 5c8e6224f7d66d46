# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PageEnvelope")


@_attrs_define
class PageEnvelope:
    """The contract's page envelope `{data, total, page, limit}`; its fields are
    listed here, `data` in each resource's page. A server sends this or
    `CursorEnvelope`, so none of these is required on its own.

        Attributes:
            total (int | None): Number of items across all pages; `None` in the SDK when the server leaves it out.
            page (int | None): This page's number; `None` in the SDK when the server leaves it out.
            limit (int | Unset): Items per page.
    """

    total: int | None = None
    page: int | None = None
    limit: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total = self.total

        page = self.page

        limit = self.limit

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if total is not None:
            field_dict["total"] = total
        if page is not None:
            field_dict["page"] = page
        if limit is not UNSET:
            field_dict["limit"] = limit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        total = d.pop("total", None)

        page = d.pop("page", None)

        limit = d.pop("limit", UNSET)

        page_envelope = cls(
            total=total,
            page=page,
            limit=limit,
        )

        page_envelope.additional_properties = d
        return page_envelope

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
