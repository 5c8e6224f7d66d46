"""The mutation suite: spec changes users make, regenerated once, then called through httpx.MockTransport.

All mutations in ``regen_mutations`` touch different operations, so one generation covers them
(openapi-python-client is the slow part). Each check asserts the request on the wire and the result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import regen_mutations

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "management.yaml"
PACKAGE = ROOT / "src" / "dify_mgmt_async"
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT / "generator"))
import generate  # type: ignore[import-not-found]  # noqa: E402
import namespaces  # type: ignore[import-not-found]  # noqa: E402

sys.path.pop(0)

CALLS = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx
    from dify_mgmt_async import APIResponseValidationError, DifyManagementClient

    seen = []
    answers = {
        "/api/management/apps/a1/summary": (200, {"app_id": "a1", "messages": 42, "extra": 1}),
        "/api/management/apps/bad/summary": (200, {"app_id": "bad", "messages": "many"}),
        "/api/management/apps/a1/usage": (200, {"tokens": 7, "cost": None}),
        "/api/management/apps/a1/notes": (201, {"result": "success"}),
        "/api/management/reports/r1": (200, {"result": "success"}),
        "/api/management/reports/r1/text": (200, "plain report"),
        "/api/management/reports/r1/download": (200, b"\\x00\\x01binary"),
        "/api/management/apps/a1/archive": (204, None),
        "/api/management/ping": (200, {"result": "pong"}),
        "/api/management/apps": (201, {"id": "n", "name": "x", "mode": "pipeline", "icon": "i",
                                       "icon_background": None, "description": None, "created_at": 1}),
        "/api/management/datasets": (201, {"id": "d", "name": "d"}),
    }

    def handler(request):
        seen.append({"method": request.method, "path": request.url.path, "query": request.url.query.decode(),
                     "trace": request.headers.get("x-trace-id"), "body": request.content.decode() or None})
        status, body = answers[request.url.path]
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers={"content-type": "application/octet-stream"})
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status) if body is None else httpx.Response(status, json=body)

    async def main():
        out = {}
        async with DifyManagementClient("https://d.example", "tok", transport=httpx.MockTransport(handler)) as dify:
            s = await dify.apps.get_summary("a1")
            out["summary"] = [type(s).__name__, s.app_id, s.messages, s.additional_properties]
            try:
                await dify.apps.get_summary("bad")
            except APIResponseValidationError as exc:
                out["bad"] = str(exc)
            u = await dify.apps.get_app_usage("a1")
            out["usage"] = [type(u).__name__, u.tokens, u.cost]
            out["note"] = (await dify.apps.add_note("a1", text="hi", pinned=True)).result
            out["report"] = (await dify.reports.get("r1", x_trace_id="t-1", fields=["a", "b"], order="asc")).result
            out["text"] = await dify.reports.text("r1")
            out["download"] = list(await dify.reports.download("r1"))
            out["archive"] = await dify.apps.archive("a1")
            out["ping"] = (await dify.default.ping()).result
            out["create"] = (await dify.apps.create(name="x", mode="pipeline", icon="i")).mode
            try:
                await dify.apps.create(name="x", mode="chat")
            except TypeError as exc:
                out["missing_icon"] = str(exc)
            await dify.datasets.create(name="d", about="all about it")
            out["no_delete"] = not hasattr(dify.api_keys, "delete")
        out["seen"] = seen
        print(json.dumps(out))

    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package regenerated from the spec with every mutation applied; returns its sys.path root."""
    tmp = tmp_path_factory.mktemp("mutated")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    regen_mutations.additive(spec)
    regen_mutations.changes(spec)
    spec_path = tmp / "management.yaml"
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    package = tmp / "site" / "dify_mgmt_async"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path), "--out", str(package)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return package.parent


def test_every_mutation_is_callable_on_the_wire(mutated: Path) -> None:
    """New ops (inline schemas, inline body, new tag, untagged), params, text/binary/204, changed ops all work."""
    script = mutated.parent / "calls.py"
    script.write_text(CALLS, encoding="utf-8")
    result = subprocess.run(
        [str(PYTHON), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(mutated)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["summary"] == ["GetAppSummaryAppSummary", "a1", 42, {"extra": 1}]
    assert "AppSummary: messages: must be an integer (got string)" in out["bad"]
    assert out["usage"] == ["GetAppUsageResponse200", 7, None]
    assert out["note"] == "success" and out["report"] == "success" and out["ping"] == "pong"
    assert out["text"] == "plain report"
    assert out["download"] == list(b"\x00\x01binary")
    assert out["archive"] is None
    assert out["create"] == "pipeline"
    assert "icon" in out["missing_icon"]
    assert out["no_delete"] is True
    seen = {(s["method"], s["path"]): s for s in out["seen"]}
    assert json.loads(seen[("POST", "/api/management/apps/a1/notes")]["body"]) == {"text": "hi", "pinned": True}
    report = seen[("GET", "/api/management/reports/r1")]
    assert report["query"] == "fields=a&fields=b&order=asc" and report["trace"] == "t-1"
    assert json.loads(seen[("POST", "/api/management/apps")]["body"]) == {"name": "x", "mode": "pipeline", "icon": "i"}
    assert json.loads(seen[("POST", "/api/management/datasets")]["body"]) == {"name": "d", "about": "all about it"}
    assert ("GET", "/api/management/ping") in seen


def test_removed_operation_is_reported_as_drift(mutated: Path) -> None:
    """Against the committed code, the regenerated tree reports the removed operation's module as stale."""
    problems = generate.diff_trees(PACKAGE, mutated / "dify_mgmt_async")
    assert "missing: _generated/api/api_keys/delete_api_key.py" in problems


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda s: s["paths"]["/api/management/ping"]["get"]["parameters"].append(
                {"name": "sid", "in": "cookie", "schema": {"type": "string"}}
            ),
            "paths./api/management/ping.get.parameters.sid: a parameter in cookie is not supported",
        ),
        (
            lambda s: s["paths"]["/api/management/ping"]["get"].__setitem__(
                "requestBody", {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}
            ),
            "paths./api/management/ping.get.requestBody: a request body of type application/x-www-form-urlencoded",
        ),
        (
            lambda s: s["paths"]["/api/management/ping"]["get"]["responses"].__setitem__(
                "201", {"description": "x", "content": {"text/plain": {"schema": {"type": "string"}}}}
            ),
            "paths./api/management/ping.get.responses: 2xx answers of different types",
        ),
    ],
)
def test_unsupported_constructs_fail_in_one_line(mutate: object, message: str) -> None:
    """A construct the namespace layer cannot expose raises Unsupported whose one-line message names its place."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    added = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    regen_mutations.additive(added)
    spec["paths"]["/api/management/ping"] = added["paths"]["/api/management/ping"]
    spec["paths"]["/api/management/ping"]["get"]["parameters"] = []
    mutate(spec)  # type: ignore[operator]
    with pytest.raises(namespaces.Unsupported) as info:
        namespaces.render(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


# Names the generated code would define twice: each stops `make generate` with one line, before anything
# is written. Checked on the spec alone (``namespaces.check_names``), so no openapi-python-client run here.
CLIENT = "DifyManagementClient (src/dify_mgmt_async/_client.py)"
APP_GET = "paths./api/management/apps/{app_id}.get"


def _op(tag: str, op_id: str, method: str | None = None) -> dict[str, object]:
    answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}
    return {
        "tags": [tag],
        "operationId": op_id,
        "summary": op_id,
        **({"x-sdk-method": method} if method else {}),
        "responses": {"200": {"description": "OK.", **answer}},
    }


def _add(path: str, op: dict[str, object], param: str | None = None) -> object:
    item = {"get": op, **({"parameters": [{"$ref": f"#/components/parameters/{param}"}]} if param else {})}
    return lambda s: s["paths"].__setitem__(path, item)


def _retag(old: str, new: str) -> object:
    def mutate(spec: dict[str, Any]) -> None:
        for item in spec["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and op.get("tags") == [old]:
                    op["tags"] = [new]

    return mutate


NAME_CLASHES = [
    (
        _add("/api/management/stats", _op("stats", "get_stats")),
        "paths./api/management/stats.get: tag 'stats' would be dify.stats, already a property of "
        f"{CLIENT}; rename the tag",
    ),
    (
        _add("/api/management/close", _op("aclose", "close_all")),
        f"paths./api/management/close.get: tag 'aclose' would be dify.aclose, already a method of {CLIENT}; "
        "rename the tag",
    ),
    (
        _add("/api/management/url", _op("base_url", "get_url")),
        "paths./api/management/url.get: tag 'base_url' would be dify.base_url, already an attribute of "
        f"{CLIENT}; rename the tag",
    ),
    (
        _add("/api/management/classes", _op("class", "list_classes")),
        "paths./api/management/classes.get: tag 'class' would be dify.class, but class is a Python keyword; "
        "rename the tag",
    ),
    (
        _add("/api/management/apps/{app_id}/x", _op("apps", "get_app_x", method="get"), "AppId"),
        "paths./api/management/apps/{app_id}/x.get: operationId 'get_app_x' would be dify.apps.get, "
        f"as 'get_app' of {APP_GET} is; set another x-sdk-method",
    ),
    (
        _add("/api/management/apps-upper", _op("Apps", "get_apps_upper")),
        "paths./api/management/apps-upper.get: tag 'Apps' would be dify.apps, as tag 'apps' is; rename one",
    ),
    (
        _add("/api/management/datasets/{dataset_id}/wait", _op("datasets", "wait_for_indexing"), "DatasetId"),
        "paths./api/management/datasets/{dataset_id}/wait.get: operationId 'wait_for_indexing' would be "
        "dify.datasets.wait_for_indexing, already a method of the hand-written DatasetsNamespace "
        "(src/dify_mgmt_async/_datasets.py); set another x-sdk-method",
    ),
    (
        _add("/api/management/ping", _op("apps", "get_app")),
        f"paths./api/management/ping.get: operationId 'get_app' is already used by {APP_GET}; "
        "operationIds must be unique",
    ),
    (
        _add("/api/management/ping", _op("users", "getApp")),
        f"paths./api/management/ping.get: operationId 'getApp' would be module get_app, as 'get_app' of "
        f"{APP_GET} is; rename one",
    ),
    (
        _retag("datasets", "knowledge"),
        f"tags: no operation is tagged for dify.datasets, which {CLIENT} binds to the hand-written "
        "DatasetsNamespace (src/dify_mgmt_async/_datasets.py); keep the tag or change the client",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    NAME_CLASHES,
    ids=[
        "tag-stats-property",
        "tag-aclose-method",
        "tag-base_url-instance-attribute",
        "tag-keyword",
        "same-method-name",
        "tags-differing-in-case",
        "hand-written-helper",
        "reused-operation-id",
        "operation-ids-with-one-module",
        "overridden-namespace-gone",
    ],
)
def test_name_clashes_fail_in_one_line(mutate: object, message: str) -> None:
    """Each would have generated a broken client (an attribute, method, class or module silently replaced)."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    mutate(spec)  # type: ignore[operator]
    with pytest.raises(namespaces.NameClash) as info:
        namespaces.check_names(spec)
    assert str(info.value) == message


def test_the_committed_spec_and_the_mutation_suites_have_no_name_clash() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    namespaces.check_names(spec)
    regen_mutations.additive(spec)
    regen_mutations.changes(spec)
    namespaces.check_names(spec)


def test_the_hand_written_names_are_every_name_of_the_real_classes() -> None:
    """The names read from the source (not imported, see ``hand_written``) include every one ``dir()`` shows."""
    from dify_mgmt_async import DifyManagementClient
    from dify_mgmt_async._datasets import DatasetsNamespace
    from dify_mgmt_async._resources import DatasetsResource, Namespaces

    hand = namespaces.hand_written()
    implicit = {"__module__", "__dict__", "__weakref__", "__annotations__", "__doc__", "__qualname__"}
    implicit.add("__slotnames__")  # copyreg's cache, on the class once any client was copied (with_options)
    assert set(dir(DifyManagementClient)) - set(dir(Namespaces)) - implicit <= set(hand.client)
    assert {"stats", "aclose", "with_options", "base_url", "_core"} <= set(hand.client)  # (base_url: __init__)
    assert not set(Namespaces.__annotations__) & set(hand.client)  # the tags' own attributes are not taken
    cls, file, helpers = hand.helpers["datasets"]
    assert (cls, file) == ("DatasetsNamespace", "src/dify_mgmt_async/_datasets.py")
    assert set(dir(DatasetsNamespace)) - set(dir(DatasetsResource)) <= set(helpers)


def test_a_name_clash_stops_generate_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    NAME_CLASHES[0][0](spec)  # type: ignore[operator]
    spec_path = tmp_path / "management.yaml"
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert generate.main(["--spec", str(spec_path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"generate: {NAME_CLASHES[0][1]}\n"
    assert not out.exists()


def test_a_yaml_syntax_error_is_one_line_naming_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not PyYAML's 64-line traceback: the file, line and column, and the problem."""
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    text = SPEC.read_text(encoding="utf-8")
    broken = text.replace("    get:\n      tags: [apps]\n", "    get:\n     tags: [apps]\n", 1)
    assert broken != text
    line = text[: text.index("    get:\n      tags: [apps]\n")].count("\n") + 2  # the line mis-indented
    spec_path = tmp_path / "management.yaml"
    spec_path.write_text(broken, encoding="utf-8")
    assert generate.main(["--spec", str(spec_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"generate: {spec_path}:{line + 1}:7: invalid YAML: expected <block end>, but found "
        f"'<block mapping start>' (while parsing a block mapping at {line}:6)\n"
    )
    assert not (tmp_path / "out").exists()
