"""The generated package: one module per operation, marked, stamped, reproducible, and its opc defects neutralised."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import sys
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest

from dify_mgmt_async._generated import _stamp
from dify_mgmt_async._generated.api.datasets import upload_document
from dify_mgmt_async._generated.client import Client
from dify_mgmt_async._generated.models import App, AppPage, Dataset, DocumentPage, DocumentUpload
from dify_mgmt_async._generated.types import File

from .conftest import ROOT, SPEC_PATH

GENERATED = ROOT / "src" / "dify_mgmt_async" / "_generated"
GENERATOR = ROOT / "generator" / "generate.py"
HEADER = "# Generated from openapi/management.yaml by `make generate`. Do not edit by hand."


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (op["tags"][0], op["operationId"])
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]


def test_one_module_per_operation(spec: dict[str, Any]) -> None:
    """Each operationId has its own importable module with the async entry points."""
    ops = operations(spec)
    assert len(ops) == 24
    for tag, op_id in ops:
        module = importlib.import_module(f"dify_mgmt_async._generated.api.{tag}.{op_id}")
        assert callable(module.asyncio_detailed) and callable(module._get_kwargs)
    modules = {p.stem for p in (GENERATED / "api").rglob("*.py") if p.stem != "__init__"}
    assert modules == {op_id for _, op_id in ops}


def test_every_generated_file_has_the_header() -> None:
    """Every generated file says it is generated and must not be edited."""
    files = [*GENERATED.rglob("*.py"), ROOT / "src" / "dify_mgmt_async" / "_resources.py"]
    assert len(files) > 50
    for path in files:
        assert path.read_text(encoding="utf-8").startswith(HEADER + "\n"), path


def test_stamp_records_spec_hash_and_generator() -> None:
    """The stamp holds the spec's sha256 and the pinned generator version."""
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == _stamp.SPEC_SHA256
    assert _stamp.GENERATOR == "openapi-python-client==0.29.1"


def _generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), *extra], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "pkg"
    result = _generate(out)
    assert result.returncode == 0, result.stderr
    return out


def test_generation_is_reproducible(fresh: Path, tmp_path: Path) -> None:
    """Two runs give byte-identical output."""
    second = tmp_path / "pkg"
    assert _generate(second).returncode == 0
    first_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    second_files = sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert first_files == second_files
    for rel in first_files:
        assert (fresh / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_drift_check_catches_a_hand_edit(fresh: Path, tmp_path: Path) -> None:
    """`generate.py --check` passes on fresh output and fails once a generated file is edited or removed."""
    pkg = tmp_path / "pkg"
    shutil.copytree(fresh, pkg)
    assert _generate(pkg, "--check").returncode == 0
    target = pkg / "_generated" / "models" / "app.py"
    target.write_text(target.read_text(encoding="utf-8") + "# hand edit\n", encoding="utf-8")
    result = _generate(pkg, "--check")
    assert result.returncode == 1
    assert "models/app.py" in result.stderr
    target.unlink()
    assert "missing: _generated/models/app.py" in _generate(pkg, "--check").stderr


def test_generate_deletes_stale_files(fresh: Path, tmp_path: Path) -> None:
    """`make generate` replaces the folder: a file left from an older spec disappears."""
    pkg = tmp_path / "pkg"
    shutil.copytree(fresh, pkg)
    stale = pkg / "_generated" / "models" / "removed_schema.py"
    stale.write_text("x = 1\n", encoding="utf-8")
    assert _generate(pkg).returncode == 0
    assert not stale.exists()


# --- opc 0.29.x defects, each neutralised -----------------------------------------------------


def _form_parts(request: httpx.Request) -> list[tuple[str | None, str | None, bytes]]:
    """(name, filename, payload) of each part, parsed with the stdlib's MIME parser."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    assert message.is_multipart()
    return [
        (part.get_param("name", header="content-disposition"), part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    ]


@pytest.mark.anyio
async def test_defect1_multipart_boundary_is_not_fixed(tmp_path: Path) -> None:
    """A file containing opc's fixed boundary `--+++` arrives byte-identical, and injects no field."""
    evil = b'head\r\n--+++\r\nContent-Disposition: form-data; name="process_rule"\r\n\r\n{}\r\n--+++--\r\ntail'
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201,
            json={
                "id": "d1",
                "name": "a.txt",
                "created_at": 1,
                "status": "enabled",
                "indexing_status": "waiting",
                "word_count": 0,
            },
        )

    client = Client(base_url="http://test").set_async_httpx_client(
        httpx.AsyncClient(base_url="http://test", transport=httpx.MockTransport(handler))
    )
    body = DocumentUpload(file=File(payload=__import__("io").BytesIO(evil), file_name="a.txt", mime_type="text/plain"))
    response = await upload_document.asyncio_detailed("ds1", client=client, body=body)
    assert response.status_code == 201
    boundary = seen[0].headers["content-type"].split("boundary=")[1]
    assert boundary != "+++"
    parts = _form_parts(seen[0])
    assert [(name, filename) for name, filename, _ in parts] == [("file", "a.txt")]
    assert parts[0][2] == evil


APP_FIELDS = {"id": "1", "name": "n", "mode": "chat", "icon": None, "icon_background": None, "description": None}
APP_FIELDS["created_at"] = 1
DOC_FIELDS = {
    "id": "1",
    "name": "n",
    "created_at": 1,
    "status": "enabled",
    "indexing_status": "waiting",
    "word_count": 0,
}


def test_defect2_unknown_enum_values_parse() -> None:
    """A value outside a closed set (`advanced-chat`, a new permission or status) is kept as a string."""
    page = AppPage.from_dict(
        {
            "data": [
                {**APP_FIELDS, "id": "a1b2c3d4-5678-90ab-cdef-ghijklmnopqr", "mode": "advanced-chat"},
                {**APP_FIELDS, "id": "2", "name": "y", "mode": "chat"},
            ],
            "total": 2,
            "page": 1,
            "limit": 20,
        }
    )
    assert page.data[0].mode == "advanced-chat"
    assert page.data[0].id == "a1b2c3d4-5678-90ab-cdef-ghijklmnopqr"
    assert page.data[1].mode == "chat"
    assert Dataset.from_dict({"id": "1", "name": "d", "permission": "partial_members"}).permission == "partial_members"
    docs = DocumentPage.from_dict(
        {"data": [{**DOC_FIELDS, "indexing_status": "queuing"}], "limit": 20, "has_more": False}
    )
    assert docs.data[0].indexing_status == "queuing"
    assert App.from_dict({**APP_FIELDS, "mode": "workflow"}).to_dict()["mode"] == "workflow"


def test_defect1_and_2_fixes_live_in_the_spec_and_generator(spec: dict[str, Any]) -> None:
    """Where the fixes are: response enums accept any string (spec); no fixed boundary in generated code (generator)."""
    app_mode = spec["components"]["schemas"]["App"]["properties"]["mode"]
    value = spec["components"]["schemas"][app_mode["$ref"].rsplit("/", 1)[-1]]
    assert {"type": "string"} in value["anyOf"]
    assert "boundary=+++" not in (GENERATED / "api" / "datasets" / "upload_document.py").read_text(encoding="utf-8")


def test_secrets_are_hidden_from_model_repr() -> None:
    """format: password fields (api_secret, a new key's token) never show in repr."""
    from dify_mgmt_async._generated.models import ApiKeyCreated, AppApiKeys

    app = App.from_dict(
        {
            "id": "1",
            "name": "n",
            "mode": "chat",
            "icon": None,
            "icon_background": None,
            "description": None,
            "created_at": 1,
            "api_key": "ak-1",
            "api_secret": "sk-SECRET",
        }
    )
    key = ApiKeyCreated.from_dict(
        {"id": "1", "name": "n", "token": "dify-pat-SECRET", "created_at": 1, "expires_at": None}
    )
    keys = AppApiKeys.from_dict({"api_key": "ak", "api_secret": "sk-SECRET", "created_at": 1})
    for model in (app, key, keys):
        assert "SECRET" not in repr(model)
    assert app.api_secret == "sk-SECRET" and key.token == "dify-pat-SECRET"
    assert json.dumps(key.to_dict())  # still serialisable, with the token
