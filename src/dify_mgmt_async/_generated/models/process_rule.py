# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProcessRule")


@_attrs_define
class ProcessRule:
    """How a document is split into chunks for indexing; the server's defaults apply to what is left out.

    Attributes:
        chunk_size (int | Unset): Maximum characters per chunk.
        chunk_overlap (int | Unset): Characters shared by neighbouring chunks; less than `chunk_size`.
        separator (str | Unset): Text at which to split, such as `\\n\\n`.
    """

    chunk_size: int | Unset = UNSET
    chunk_overlap: int | Unset = UNSET
    separator: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        chunk_size = self.chunk_size

        chunk_overlap = self.chunk_overlap

        separator = self.separator

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if chunk_size is not UNSET:
            field_dict["chunk_size"] = chunk_size
        if chunk_overlap is not UNSET:
            field_dict["chunk_overlap"] = chunk_overlap
        if separator is not UNSET:
            field_dict["separator"] = separator

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        chunk_size = d.pop("chunk_size", UNSET)

        chunk_overlap = d.pop("chunk_overlap", UNSET)

        separator = d.pop("separator", UNSET)

        process_rule = cls(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separator=separator,
        )

        return process_rule
