"""The hand-written spec covers the contract: every operation, parameter, status, example and closed set."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from .conftest import SPEC_PATH

API = "/api/management"

# The contract's 24 operations: (method, path, tag).
OPERATIONS = [
    ("get", "/apps", "apps"),
    ("post", "/apps", "apps"),
    ("get", "/apps/{app_id}", "apps"),
    ("patch", "/apps/{app_id}", "apps"),
    ("delete", "/apps/{app_id}", "apps"),
    ("get", "/apps/{app_id}/api-keys", "apps"),
    ("post", "/apps/{app_id}/api-keys/reset", "apps"),
    ("get", "/datasets", "datasets"),
    ("post", "/datasets", "datasets"),
    ("get", "/datasets/{dataset_id}", "datasets"),
    ("patch", "/datasets/{dataset_id}", "datasets"),
    ("delete", "/datasets/{dataset_id}", "datasets"),
    ("post", "/datasets/{dataset_id}/documents/upload", "datasets"),
    ("get", "/datasets/{dataset_id}/documents", "datasets"),
    ("delete", "/datasets/{dataset_id}/documents/{document_id}", "datasets"),
    ("get", "/models", "models"),
    ("get", "/model-providers", "model_providers"),
    ("post", "/model-providers/{provider_name}/credentials", "model_providers"),
    ("get", "/workspaces/current", "workspaces"),
    ("patch", "/workspaces/current", "workspaces"),
    ("get", "/users/current", "users"),
    ("get", "/api-keys", "api_keys"),
    ("post", "/api-keys", "api_keys"),
    ("delete", "/api-keys/{api_key_id}", "api_keys"),
]


def all_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = spec["components"][section][name]
    return node


def test_spec_is_valid_openapi_31() -> None:
    """openapi-spec-validator accepts the document, and it declares OpenAPI 3.1."""
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)
    assert str(document["openapi"]).startswith("3.1")


@pytest.mark.parametrize(("method", "path", "tag"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_contract_operation_is_in_the_spec(spec: dict[str, Any], method: str, path: str, tag: str) -> None:
    """Each of the 24 operations exists, with an operationId and the right tag."""
    op = spec["paths"][API + path][method]
    assert op["operationId"]
    assert op["tags"] == [tag]


def test_the_spec_has_exactly_the_contract_operations(spec: dict[str, Any]) -> None:
    """No operation is missing and none is invented; operationIds are unique."""
    found = {(m, p) for m, p, _ in all_operations(spec)}
    assert found == {(m, API + p) for m, p, _ in OPERATIONS}
    ids = [op["operationId"] for _, _, op in all_operations(spec)]
    assert len(ids) == len(set(ids)) == 24


def test_every_operation_documents_auth_rate_limit_and_server_errors(spec: dict[str, Any]) -> None:
    """401, 403, 429 and 500 everywhere; 404 where there is an id; 400 where there is input; bearer auth applies."""
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert spec["security"] == [{"bearerAuth": []}]
    for method, path, op in all_operations(spec):
        codes = set(op["responses"])
        assert {"401", "403", "429", "500"} <= codes, (method, path)
        assert "security" not in op, "no operation opts out of bearer auth"
        if "{" in path:
            assert "404" in codes, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "400" in codes, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                body = resolve(spec, response)["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}


def test_error_schema_and_429_retry_after(spec: dict[str, Any]) -> None:
    """Error is {error_code, error}; the 429 answer declares Retry-After."""
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error_code", "error"}
    headers = spec["components"]["responses"]["RateLimited"]["headers"]
    assert "Retry-After" in headers
    codes = spec["components"]["schemas"]["ErrorCode"]["enum"]
    assert set(codes) == {
        "invalid_param",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "rate_limited",
        "internal_server_error",
    }


def test_creates_answer_200_or_201_and_deletes_200_or_204(spec: dict[str, Any]) -> None:
    """As deployed Dify does: creates may answer 200 or 201; deletes 200 {result} or 204 with no body."""
    for method, path, op in all_operations(spec):
        codes = {c for c in op["responses"] if c.startswith("2")}
        if method == "post" and not path.endswith("/reset"):
            assert {"200", "201"} <= codes, path
        if method == "delete":
            assert codes == {"200", "204"}, path
            assert "content" not in resolve(spec, op["responses"]["204"])


def test_closed_sets(spec: dict[str, Any]) -> None:
    """App mode, dataset permission and key reset type have exactly the contract's values."""
    schemas = spec["components"]["schemas"]
    assert schemas["AppMode"]["enum"] == ["chat", "completion", "agent_chat", "workflow"]
    assert schemas["DatasetPermission"]["enum"] == ["only_me", "all_team_members"]
    assert schemas["ApiKeyResetType"]["enum"] == ["api_key", "api_secret"]


def test_paging_parameters(spec: dict[str, Any]) -> None:
    """page >= 1 default 1; limit default 20, at most 100 only where the seed says so (apps, datasets)."""
    params = spec["components"]["parameters"]
    assert params["Page"]["schema"] == {"type": "integer", "minimum": 1, "default": 1}
    assert params["Limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert params["OpenLimit"]["schema"] == {"type": "integer", "minimum": 1, "default": 20}
    limits = {
        "/apps": "Limit",
        "/datasets": "Limit",
        "/datasets/{dataset_id}/documents": "OpenLimit",
        "/api-keys": "OpenLimit",
    }
    for path, limit in limits.items():
        refs = [p.get("$ref") for p in spec["paths"][API + path]["get"]["parameters"]]
        assert "#/components/parameters/Page" in refs and f"#/components/parameters/{limit}" in refs


def test_envelopes(spec: dict[str, Any]) -> None:
    """The page envelope {data,total,page,limit} and cursor envelope {data,limit,has_more} are both declared."""
    schemas = spec["components"]["schemas"]
    assert set(schemas["PageEnvelope"]["properties"]) == {"total", "page", "limit"}
    assert set(schemas["CursorEnvelope"]["properties"]) == {"limit", "has_more"}
    for name in ("AppPage", "DatasetPage", "DocumentPage", "ApiKeyPage"):
        refs = [part.get("$ref") for part in schemas[name]["allOf"]]
        assert "#/components/schemas/PageEnvelope" in refs and "#/components/schemas/CursorEnvelope" in refs


def test_upload_is_multipart_with_json_process_rule(spec: dict[str, Any]) -> None:
    """The upload takes a binary `file` and a `process_rule` object sent as application/json."""
    media = spec["paths"][API + "/datasets/{dataset_id}/documents/upload"]["post"]["requestBody"]["content"]
    form = media["multipart/form-data"]
    assert form["encoding"]["process_rule"]["contentType"] == "application/json"
    body = resolve(spec, form["schema"])
    assert body["required"] == ["file"]
    assert body["properties"]["file"]["format"] == "binary"
    rule = resolve(spec, body["properties"]["process_rule"])
    assert set(rule["properties"]) == {"chunk_size", "chunk_overlap", "separator"}


def test_free_form_objects_stay_free_form(spec: dict[str, Any]) -> None:
    """credentials, plan_settings, features, usage, parameter_rules and pricing accept any keys."""
    schemas = spec["components"]["schemas"]
    for schema, prop in [
        ("ProviderCredentialsUpdate", "credentials"),
        ("WorkspaceUpdate", "plan_settings"),
        ("Workspace", "features"),
        ("Workspace", "usage"),
        ("Model", "parameter_rules"),
        ("Model", "pricing"),
    ]:
        node = schemas[schema]["properties"][prop]
        assert node["type"] == "object" and node["additionalProperties"] is True and "properties" not in node


def _examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example in the spec."""
    found: list[tuple[str, dict[str, Any], Any]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "schema" in node and "examples" in node and isinstance(node["examples"], dict):
                for name, example in node["examples"].items():
                    found.append((f"{where}/{name}", node["schema"], resolve(spec, example)["value"]))
            if "schema" in node and "example" in node:
                found.append((f"{where}/example", node["schema"], node["example"]))
            if isinstance(node.get("examples"), list):  # a schema's own examples
                for i, example in enumerate(node["examples"]):
                    found.append((f"{where}/examples/{i}", node, example))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(spec, "#")
    return found


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    """Each example (the contract's among them) is valid JSON Schema 2020-12 for its schema."""
    examples = _examples(spec)
    assert len(examples) >= 25
    for where, schema, example in examples:
        root = {"components": spec["components"], **schema}  # so "#/components/..." refs resolve
        errors = list(jsonschema.Draft202012Validator(root).iter_errors(example))
        assert not errors, f"{where}: {errors[0].message}"
    seed_ids = [e for w, _, e in examples if "seed" in w]
    assert seed_ids, "the contract's own examples are in the spec"


def test_an_invalid_example_would_be_caught(spec: dict[str, Any]) -> None:
    """The example check is not vacuous: a wrong type fails validation."""
    schema = {"components": spec["components"], "$ref": "#/components/schemas/App"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({"id": "x", "name": "n", "mode": "chat", "created_at": "soon"})
