"""The generated ``from_dict`` of open enums: a known value becomes its member, any other value is kept.

``generator/opc_templates`` reads these unions inline (a lookup in the enum's value table)
instead of through opc's per-call function; the result must be what opc's ``Enum(value)`` gave.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest

from dify_mgmt_async import App, AppMode, Dataset, DatasetPermission, Document, Error, ErrorCode, IndexingStatus
from tests.conftest import APP, DOCUMENT

CASES: list[tuple[Any, dict[str, Any], str, type[Enum]]] = [
    (App, APP, "mode", AppMode),
    (Dataset, {"id": "d1", "name": "docs"}, "permission", DatasetPermission),
    (Document, DOCUMENT, "indexing_status", IndexingStatus),
    (Error, {"error_code": "not_found", "error": "no such app"}, "error_code", ErrorCode),
]


@pytest.mark.parametrize(("model", "base", "field", "enum"), CASES, ids=[c[2] for c in CASES])
def test_open_enum_field_parses_as_opc_did(model: Any, base: dict[str, Any], field: str, enum: type[Enum]) -> None:
    for member in enum:
        assert getattr(model.from_dict({**base, field: member.value}), field) is member
        assert getattr(model.from_dict({**base, field: member}), field) is member
    for other in ("a-value-added-later", "", "CHAT", 3, None, ["chat"]):
        parsed = getattr(model.from_dict({**base, field: other}), field)
        assert parsed == other and type(parsed) is type(other)
