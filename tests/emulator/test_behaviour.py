"""The emulator's own behaviours over HTTP: auth, validation, uploads, rate limit, faults and the control API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dify_mgmt_async.emulator import EmulatorServer
from dify_mgmt_async.emulator.server import parse_args

P = "/api/management"


@pytest.fixture
def client(dify_emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    with httpx.Client(base_url=dify_emulator_server.base_url + P, headers=auth) as c:
        yield c


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer", "Bearer a b", "Bearer unknown"])
def test_bad_authorization_gets_401_with_challenge(client: httpx.Client, header: str | None) -> None:
    """Missing, malformed or unknown Authorization answers 401 `unauthorized` with `WWW-Authenticate: Bearer`."""
    headers = {} if header is None else {"Authorization": header}
    client.headers.pop("Authorization")
    response = client.get("/apps", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error_code"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("POST", "/apps", {"json": {"mode": "chat"}}, "name"),
        ("POST", "/apps", {"json": {"name": "", "mode": "chat"}}, "name"),
        ("POST", "/apps", {"json": {"name": "a", "mode": "bogus"}}, "mode"),
        ("POST", "/apps", {"json": {"name": "a", "mode": "chat", "colour": 1}}, "colour"),
        ("POST", "/apps", {"json": {"name": 5, "mode": "chat"}}, "name"),
        ("POST", "/apps", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "body"),
        ("POST", "/datasets", {"json": {"name": "d", "permission": "everyone"}}, "permission"),
        ("GET", "/apps", {"params": {"limit": "101"}}, "limit"),
        ("GET", "/apps", {"params": {"limit": "0"}}, "limit"),
        ("GET", "/datasets", {"params": {"page": "0"}}, "page"),
        ("GET", "/api-keys", {"params": {"page": "x"}}, "page"),
        ("POST", "/api-keys", {"json": {"name": "k", "expires_at": "soon"}}, "expires_at"),
    ],
)
def test_invalid_input_names_the_field(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    """Bad input answers 400 `invalid_param` with a message naming the field."""
    response = client.request(method, path, **kwargs)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "invalid_param" and field in body["error"]


def test_filters_the_seed_leaves_open_are_accepted(client: httpx.Client) -> None:
    """No maximum on documents'/keys' `limit`; `status` matches `status` or `indexing_status`; any app mode."""
    dataset = client.post("/datasets", json={"name": "open"}).json()
    doc = client.post(f"/datasets/{dataset['id']}/documents/upload", files={"file": ("a.txt", b"hello")}).json()
    for status in ("enabled", "waiting"):
        page = client.get(f"/datasets/{dataset['id']}/documents", params={"status": status, "limit": 200})
        assert page.status_code == 200 and [d["id"] for d in page.json()["data"]] == [doc["id"]]
        assert page.json()["limit"] == 200
    assert client.get(f"/datasets/{dataset['id']}/documents", params={"status": "archived"}).json()["data"] == []
    assert client.get("/api-keys", params={"limit": 500}).status_code == 200
    assert client.get("/apps", params={"mode": "advanced-chat"}).json()["data"] == []
    assert client.get("/apps", params={"limit": 101}).status_code == 400  # the seed's "最大100" stays


def test_duplicate_names_conflict(client: httpx.Client) -> None:
    """A second app or dataset with the same name answers 409 `conflict`, including on rename."""
    assert client.post("/apps", json={"name": "a", "mode": "chat"}).status_code == 201
    assert client.post("/apps", json={"name": "a", "mode": "workflow"}).status_code == 409
    other = client.post("/apps", json={"name": "b", "mode": "chat"}).json()
    assert client.patch(f"/apps/{other['id']}", json={"name": "a"}).json()["error_code"] == "conflict"
    assert client.post("/datasets", json={"name": "d"}).status_code == 201
    assert client.post("/datasets", json={"name": "d"}).status_code == 409


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        ({"chunk_size": 100, "chunk_overlap": 10}, 201),
        ({"chunk_size": 0}, 400),
        ({"chunk_size": 100, "chunk_overlap": 100}, 400),
        ({"chunk_overlap": -1}, 400),
        ({"chunk_size": "big"}, 400),
        ({"unknown": 1}, 400),
    ],
)
def test_process_rule_validated(client: httpx.Client, rule: dict[str, Any], status: int) -> None:
    """process_rule: integers, chunk_size > 0, 0 <= chunk_overlap < chunk_size, no unknown keys."""
    ds = client.post("/datasets", json={"name": "d"}).json()
    files = {"file": ("a.txt", b"text"), "process_rule": (None, json.dumps(rule), "application/json")}
    response = client.post(f"/datasets/{ds['id']}/documents/upload", files=files)
    assert response.status_code == status, response.text
    if status == 400:
        assert "process_rule" in response.json()["error"]


def test_upload_needs_one_file_part(client: httpx.Client) -> None:
    """No file part, or two, answers 400 naming `file`."""
    ds = client.post("/datasets", json={"name": "d"}).json()
    url = f"/datasets/{ds['id']}/documents/upload"
    none = client.post(url, files={"process_rule": (None, "{}")})
    two = client.post(url, files=[("file", ("a.txt", b"1")), ("file", ("b.txt", b"2"))])
    assert (none.status_code, two.status_code) == (400, 400)
    assert "file" in none.json()["error"] and "file" in two.json()["error"]


def test_control_api_sets_faults_and_reads_counters(dify_emulator_server: EmulatorServer, client: httpx.Client) -> None:
    """The control API needs its secret, changes fail_rate at run time, and counts requests and faults."""
    control = httpx.Client(base_url=dify_emulator_server.base_url + "/_emulator")
    with control:
        assert control.get("/stats").status_code == 401
        control.headers.update(dify_emulator_server.control_headers)
        assert control.post("/config", json={"fail_rate": 1}).json()["fail_rate"] == 1
        assert client.get("/models").status_code in (500, 502, 503)
        assert control.post("/config", json={"fail_rate": 0, "bogus": 1}).status_code == 400
        control.post("/config", json={"fail_rate": 0})
        assert client.get("/models").status_code == 200
        stats = control.get("/stats").json()
    assert stats["requests"] == {"list_models": 1}
    assert sum(stats["faults"].values()) == 1 and stats["peak_in_flight"] >= 1


def test_drop_closes_connection_without_answer(dify_emulator_server: EmulatorServer, client: httpx.Client) -> None:
    """With drop_rate 1 the server closes the connection and sends no answer at all."""
    dify_emulator_server.configure(drop_rate=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/models")
    assert dify_emulator_server.stats()["faults"] == {"dropped": 1}


def test_flags_have_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every flag falls back to its DIFY_EMULATOR_* environment variable."""
    monkeypatch.setenv("DIFY_EMULATOR_RATE", "7")
    monkeypatch.setenv("DIFY_EMULATOR_TOKEN", "tok")
    monkeypatch.setenv("DIFY_EMULATOR_MAX_UPLOAD_MB", "3")
    args = parse_args(["--port", "0"])
    assert (args.rate, args.token, args.max_upload_mb, args.port) == (7.0, "tok", 3.0, 0)
