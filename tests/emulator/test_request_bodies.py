"""JSON bodies as RFC 8259 has them: what ``json.loads`` takes beyond JSON, text that is not Unicode, and nesting
past ``MAX_DEPTH`` are 400 ``invalid_param`` naming the field, stored nowhere; ``expires_at`` must be in the future.

Each of these used to answer 500 (and a stored lone surrogate broke every later listing), or, for a past
``expires_at``, 201 with a key dead at birth.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from dify_mgmt_async.emulator import EmulatorServer
from dify_mgmt_async.emulator.validation import MAX_DEPTH

JSON = {"Content-Type": "application/json"}


def refused(response: httpx.Response) -> Any:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "invalid_param", body
    return body["error"]


@pytest.mark.parametrize(
    ("literal", "shown"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e400", "1e400"), ("-1E999", "-1E999")],
)
def test_a_non_finite_number_is_refused_naming_the_field(client: httpx.Client, literal: str, shown: str) -> None:
    raw = f'{{"name": "k", "expires_at": {literal}}}'.encode()
    assert refused(client.post("/api-keys", content=raw, headers=JSON)) == (
        f"expires_at: must be a finite number (got {shown})"
    )
    assert client.get("/api-keys").json()["total"] == 1  # the bootstrap key only


@pytest.mark.parametrize(
    ("path", "raw", "message"),
    [
        (
            "/workspaces/current",
            b'{"plan_settings": {"a": [1, NaN]}}',
            "plan_settings.a[1]: must be a finite number (got NaN)",
        ),
        ("/workspaces/current", b"Infinity", "body: must be a finite number (got Infinity)"),
        (
            "/model-providers/openai/credentials",
            b'{"credentials": {"k": 1e309}}',
            "credentials.k: must be a finite number (got 1e309)",
        ),
    ],
)
def test_a_non_finite_number_anywhere_is_refused(client: httpx.Client, path: str, raw: bytes, message: str) -> None:
    method = "PATCH" if path.startswith("/workspaces") else "POST"
    assert refused(client.request(method, path, content=raw, headers=JSON)) == message


def test_a_lone_surrogate_is_refused_and_the_listing_still_works(client: httpx.Client) -> None:
    """``"\\ud800"`` is JSON's syntax but no text: stored, it made every answer holding it a 500."""
    raw = b'{"name": "\\ud800", "mode": "chat"}'
    assert refused(client.post("/apps", content=raw, headers=JSON)) == "name: is not valid Unicode (a lone surrogate)"
    listed = client.get("/apps")
    assert (listed.status_code, listed.json()["total"]) == (200, 0)
    trailing = b'{"name": "ok", "mode": "chat", "description": "x\\udfff"}'
    assert refused(client.post("/apps", content=trailing, headers=JSON)) == (
        "description: is not valid Unicode (a lone surrogate)"
    )


def test_a_lone_surrogate_in_a_name_is_shown_escaped(client: httpx.Client) -> None:
    raw = b'{"plan_settings": {"a\\udc80b": 1}}'
    assert refused(client.patch("/workspaces/current", content=raw, headers=JSON)) == (
        "plan_settings.a\\udc80b: is not valid Unicode (a lone surrogate)"
    )


def test_a_surrogate_pair_is_text_and_is_kept(client: httpx.Client) -> None:
    created = client.post("/apps", content=b'{"name": "\\ud83d\\ude00", "mode": "chat"}', headers=JSON)
    assert created.status_code == 201, created.text
    assert client.get("/apps").json()["data"][0]["name"] == "\U0001f600"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_nesting_past_the_limit_is_refused(client: httpx.Client) -> None:
    deep = f'{{"credentials": {{"k": {nested(MAX_DEPTH)}}}}}'.encode()  # the body is one level more
    assert refused(client.post("/model-providers/openai/credentials", content=deep, headers=JSON)) == (
        f"credentials: nested more than {MAX_DEPTH} levels deep"
    )
    kept = f'{{"credentials": {{"k": {nested(MAX_DEPTH - 2)}}}}}'.encode()  # MAX_DEPTH levels in all
    assert client.post("/model-providers/openai/credentials", content=kept, headers=JSON).status_code == 200


def test_nesting_past_the_parsers_recursion_limit_is_400_not_500(client: httpx.Client) -> None:
    raw = f'{{"name": {nested(100_000)}, "mode": "chat"}}'.encode()
    assert refused(client.post("/apps", content=raw, headers=JSON)) == f"body: nested more than {MAX_DEPTH} levels deep"


def test_a_json_form_part_is_read_alike(client: httpx.Client) -> None:
    dataset = client.post("/datasets", json={"name": "d"}).json()
    url = f"/datasets/{dataset['id']}/documents/upload"
    for part, message in [
        ('{"chunk_size": NaN}', "process_rule.chunk_size: must be a finite number (got NaN)"),
        ('{"separator": "\\ud800"}', "process_rule.separator: is not valid Unicode (a lone surrogate)"),
        (nested(30_000), f"process_rule: nested more than {MAX_DEPTH} levels deep"),  # under the 64 KiB of a part
    ]:
        files = {"file": ("a.txt", b"text"), "process_rule": (None, part, "application/json")}
        assert refused(client.post(url, files=files)) == message
    assert client.get(f"/datasets/{dataset['id']}/documents").json()["total"] == 0


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (1, "expires_at: must be in the future, and 1970-01-01T00:00:01+00:00 is not (got 1)"),
        (0, "expires_at: must be in the future, and 1970-01-01T00:00:00+00:00 is not (got 0)"),
        (1700000000.5, "expires_at: must be in the future, and 2023-11-14T22:13:20+00:00 is not (got 1700000000.5)"),
    ],
)
def test_a_past_expiry_is_refused_as_the_sdk_refuses_it(client: httpx.Client, expires_at: float, message: str) -> None:
    """The spec: ApiKeyCreate.expires_at "must be in the future" (``x-sdk-timestamp: future``); the words are the
    SDK's own check's (``_validation.future_timestamp``), so a raw client reads what the SDK would have said."""
    assert refused(client.post("/api-keys", json={"name": "dead", "expires_at": expires_at})) == message
    assert [k["name"] for k in client.get("/api-keys").json()["data"]] == ["bootstrap"]


def test_an_expiry_a_moment_ago_is_refused_and_one_a_moment_ahead_works(
    dify_emulator_server: EmulatorServer, client: httpx.Client
) -> None:
    now = time.time()
    error = refused(client.post("/api-keys", json={"name": "k", "expires_at": now - 1}))
    assert error.startswith("expires_at: must be in the future, and ") and error.endswith(f"(got {now - 1!r})")
    created = client.post("/api-keys", json={"name": "k", "expires_at": now + 60})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    answer = httpx.get(
        f"{dify_emulator_server.base_url}/api/management/users/current", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200


def test_the_rule_comes_from_the_spec(client: httpx.Client) -> None:
    """Only properties marked ``x-sdk-timestamp: future`` are held to it: a past number elsewhere is just a number."""
    settings = {"plan_settings": {"expires_at": 1}}
    answer = client.patch("/workspaces/current", content=json.dumps(settings).encode(), headers=JSON)
    assert answer.status_code == 200, answer.text
