"""Every operation of the spec, called over HTTP: each answer is checked against the spec (``conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dify_mgmt_async.emulator import EmulatorServer

P = "/api/management"


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "patch", "delete", "put"}:
                found[op["operationId"]] = (method.upper(), path, op)
    return found


def test_every_operation_answers_per_spec(
    spec: dict[str, Any], dify_emulator_server: EmulatorServer, spec_client: Callable[..., httpx.Client]
) -> None:
    """All 24 operations, success and error answers alike, match the spec's responses (openapi-core's check)."""
    operations = _operations(spec)
    assert len(operations) == 24
    seen: dict[str, set[int]] = {op_id: set() for op_id in operations}
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    _walk(operations, seen, spec_client(dify_emulator_server.base_url, headers=auth))
    assert all(seen.values()), [op_id for op_id, codes in seen.items() if not codes]


def _walk(operations: dict[str, Any], seen: dict[str, set[int]], client: httpx.Client) -> None:
    def call(op_id: str, expected: int, path: dict[str, str] | None = None, **kwargs: Any) -> Any:
        method, template, _ = operations[op_id]
        response = client.request(method, template.format(**(path or {})), **kwargs)  # checked by the client's hook
        assert response.status_code == expected, (op_id, response.status_code, response.text)
        seen[op_id].add(expected)
        return response.json() if response.content else None

    missing = "00000000-0000-4000-8000-000000000000"
    app = call("create_app", 201, json={"name": "客服助手", "mode": "chat", "icon_background": "#2563eb"})
    call("create_app", 409, json={"name": "客服助手", "mode": "chat"})
    call("create_app", 400, json={"name": "x", "mode": "nope"})
    call("list_apps", 200)
    call("list_apps", 400, params={"limit": "0"})
    call("get_app", 200, {"app_id": app["id"]})
    call("get_app", 404, {"app_id": missing})
    call("update_app", 200, {"app_id": app["id"]}, json={"description": "new"})
    call("get_app_api_keys", 200, {"app_id": app["id"]})
    call("reset_app_api_keys", 200, {"app_id": app["id"]}, json={"type": "api_secret"})
    ds = call("create_dataset", 201, json={"name": "手册"})
    call("list_datasets", 200)
    call("get_dataset", 200, {"dataset_id": ds["id"]})
    call("update_dataset", 200, {"dataset_id": ds["id"]}, json={"permission": "all_team_members"})
    files = {"file": ("faq.md", b"# FAQ\nhello"), "process_rule": (None, json.dumps({"chunk_size": 500}))}
    doc = call("upload_document", 201, {"dataset_id": ds["id"]}, files=files)
    call("upload_document", 415, {"dataset_id": ds["id"]}, files={"file": ("x.exe", b"MZ")})
    call("list_documents", 200, {"dataset_id": ds["id"]})
    call("delete_document", 200, {"dataset_id": ds["id"], "document_id": doc["id"]})
    call("list_models", 200)
    call("list_model_providers", 200)
    call("update_model_provider_credentials", 200, {"provider_name": "openai"}, json={"credentials": {"k": "v"}})
    call("update_model_provider_credentials", 404, {"provider_name": "nobody"}, json={"credentials": {}})
    call("get_current_workspace", 200)
    call("update_current_workspace", 200, json={"name": "Acme"})
    call("get_current_user", 200)
    key = call("create_api_key", 201, json={"name": "ci"})
    call("list_api_keys", 200)
    call("delete_api_key", 200, {"api_key_id": key["id"]})
    call("delete_app", 200, {"app_id": app["id"]})
    call("delete_dataset", 200, {"dataset_id": ds["id"]})
    client.headers.pop("Authorization")
    call("get_current_user", 401)


@pytest.mark.dify_emulator(rate=1, burst=1)
def test_rate_limited_answer_per_spec(
    dify_emulator_server: EmulatorServer, spec_client: Callable[..., httpx.Client]
) -> None:
    """A 429 carries an integer Retry-After, the exact retry-after-ms, and a spec-valid `rate_limited` body."""
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    client = spec_client(dify_emulator_server.base_url, headers=auth)
    assert client.get(P + "/models").status_code == 200
    response = client.get(P + "/models")  # checked by the client's hook: status, Retry-After's schema, body
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert 1 <= int(response.headers["retry-after-ms"]) <= 1000  # the exact wait for one token at 1/s
    assert response.json() == {"error_code": "rate_limited", "error": "Too many requests"}
