"""Every operation of the spec, called over HTTP: each answer validates against the spec's response schema."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from dify_mgmt_async.emulator import EmulatorServer

P = "/api/management"


def _validator(spec: dict[str, Any], operation: dict[str, Any], status: int) -> Draft202012Validator | None:
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content")
    if content is None:
        return None
    schema = content["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource("spec", DRAFT202012.create_resource(spec))
    ref = schema["$ref"].replace("#/", "spec#/") if "$ref" in schema else None
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": ref} if ref else schema
    return Draft202012Validator(wrapped, registry=registry)


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "patch", "delete", "put"}:
                found[op["operationId"]] = (method.upper(), path, op)
    return found


def test_every_operation_answers_per_spec(spec: dict[str, Any], dify_emulator_server: EmulatorServer) -> None:
    """All 24 operations, success and error answers alike, validate against their response schemas (Draft 2020-12)."""
    operations = _operations(spec)
    assert len(operations) == 24
    seen: dict[str, set[int]] = {op_id: set() for op_id in operations}
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    client = httpx.Client(base_url=dify_emulator_server.base_url, headers=auth)
    try:
        _walk(operations, seen, client, spec)
    finally:
        client.close()
    assert all(seen.values()), [op_id for op_id, codes in seen.items() if not codes]


def _walk(operations: dict[str, Any], seen: dict[str, set[int]], client: httpx.Client, spec: dict[str, Any]) -> None:
    def call(op_id: str, expected: int, path: dict[str, str] | None = None, **kwargs: Any) -> Any:
        method, template, operation = operations[op_id]
        response = client.request(method, template.format(**(path or {})), **kwargs)
        assert response.status_code == expected, (op_id, response.status_code, response.text)
        validator = _validator(spec, operation, expected)
        body = response.json() if response.content else None
        if validator is not None:
            validator.validate(body)
        seen[op_id].add(expected)
        return body

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
def test_rate_limited_answer_per_spec(spec: dict[str, Any], dify_emulator_server: EmulatorServer) -> None:
    """A 429 carries an integer Retry-After, the exact retry-after-ms, and a spec-valid `rate_limited` body."""
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    with httpx.Client(base_url=dify_emulator_server.base_url, headers=auth) as client:
        assert client.get(P + "/models").status_code == 200
        response = client.get(P + "/models")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert 1 <= int(response.headers["retry-after-ms"]) <= 1000  # the exact wait for one token at 1/s
    _, _, operation = _operations(spec)["list_models"]
    validator = _validator(spec, operation, 429)
    assert validator is not None
    validator.validate(response.json())
    assert response.json()["error_code"] == "rate_limited"
