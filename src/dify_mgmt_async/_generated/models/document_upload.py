# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from .. import types
from ..types import UNSET, File, Unset

if TYPE_CHECKING:
    from ..models.process_rule import ProcessRule


T = TypeVar("T", bound="DocumentUpload")


@_attrs_define
class DocumentUpload:
    """The multipart form of an upload (the contract's two fields; servers refuse others).

    Attributes:
        file (File): The file; its part's filename names the document.
        process_rule (ProcessRule | Unset): How a document is split into chunks for indexing; the server's defaults
            apply to what is left out.
    """

    file: File
    process_rule: ProcessRule | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        file = self.file.to_tuple()

        process_rule: dict[str, Any] | Unset = UNSET
        if not isinstance(self.process_rule, Unset):
            process_rule = self.process_rule.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "file": file,
            }
        )
        if process_rule is not UNSET:
            field_dict["process_rule"] = process_rule

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("file", self.file.to_tuple()))

        if not isinstance(self.process_rule, Unset):
            files.append(("process_rule", (None, json.dumps(self.process_rule.to_dict()).encode(), "application/json")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.process_rule import ProcessRule  # noqa: PLC0415

        d = dict(src_dict)
        file = File(payload=BytesIO(d.pop("file")))

        _process_rule = d.pop("process_rule", UNSET)
        process_rule: ProcessRule | Unset
        if isinstance(_process_rule, Unset):
            process_rule = UNSET
        else:
            process_rule = ProcessRule.from_dict(_process_rule)

        document_upload = cls(
            file=file,
            process_rule=process_rule,
        )

        return document_upload
