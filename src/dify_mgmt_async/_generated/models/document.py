# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.indexing_status import IndexingStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Document")


@_attrs_define
class Document:
    """A document in a dataset. Required are the contract's fields except `parsing_error`, which it gives "如有" (when there
    is one).

        Attributes:
            id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
                valid UUIDs.
            name (str): The document's name, from the uploaded file name.
            created_at (int): Unix time in seconds.
            status (str): Whether the document is in use: `enabled`, `disabled` or `archived`.
            indexing_status (IndexingStatus | str): A document's indexing status as a server reports it; an unknown value is
                kept as a string.
            word_count (int): Words in the document; 0 until indexing completes.
            parsing_error (None | str | Unset): Why indexing failed, when `indexing_status` is `error`.
    """

    id: str
    name: str
    created_at: int
    status: str
    indexing_status: IndexingStatus | str
    word_count: int
    parsing_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        created_at = self.created_at

        status = self.status

        indexing_status: str
        if isinstance(self.indexing_status, IndexingStatus):
            indexing_status = self.indexing_status.value
        else:
            indexing_status = self.indexing_status

        word_count = self.word_count

        parsing_error: None | str | Unset
        if isinstance(self.parsing_error, Unset):
            parsing_error = UNSET
        else:
            parsing_error = self.parsing_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "created_at": created_at,
                "status": status,
                "indexing_status": indexing_status,
                "word_count": word_count,
            }
        )
        if parsing_error is not UNSET:
            field_dict["parsing_error"] = parsing_error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        created_at = d.pop("created_at")

        status = d.pop("status")

        indexing_status = d.pop("indexing_status")
        if isinstance(indexing_status, str):
            indexing_status = IndexingStatus._value2member_map_.get(indexing_status, indexing_status)

        word_count = d.pop("word_count")

        parsing_error = d.pop("parsing_error", UNSET)

        document = cls(
            id=id,
            name=name,
            created_at=created_at,
            status=status,
            indexing_status=indexing_status,
            word_count=word_count,
            parsing_error=parsing_error,
        )

        document.additional_properties = d
        return document

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
