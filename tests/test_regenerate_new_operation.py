"""A new operation in the spec becomes a typed ``dify.apps.<method>`` with auth, errors and retries on regenerate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "management.yaml"
PACKAGE = ROOT / "src" / "dify_mgmt_async"
PYTHON = ROOT / ".venv" / "bin" / "python"

STATS_OPERATION: dict[str, Any] = {
    "parameters": [{"$ref": "#/components/parameters/AppId"}],
    "get": {
        "tags": ["apps"],
        "operationId": "get_app_stats",
        "x-sdk-method": "get_stats",
        "summary": "Get an app's statistics",
        "description": "Message counts of the app.",
        "responses": {
            "200": {
                "description": "The app's statistics.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppStats"}}},
            },
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
            "429": {"$ref": "#/components/responses/RateLimited"},
            "500": {"$ref": "#/components/responses/InternalServerError"},
        },
    },
}

APP_STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An app's statistics.",
    "required": ["app_id", "messages"],
    "properties": {
        "app_id": {"type": "string", "description": "The app's id."},
        "messages": {"type": "integer", "description": "Messages sent to the app."},
    },
}

RUNTIME_CHECK = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx
    import dify_mgmt_async
    from dify_mgmt_async import AppStats, DifyManagementClient, InternalServerError, NotFoundError

    assert dify_mgmt_async.__file__.startswith(sys.argv[1]), dify_mgmt_async.__file__
    seen = []
    answers = {
        "a1": [(200, {"app_id": "a1", "messages": 42})],
        "gone": [(404, {"error_code": "not_found", "error": "App not found"})],
        "flaky": [(503, {"error_code": "internal_server_error", "error": "down"}),
                  (503, {"error_code": "internal_server_error", "error": "down"}),
                  (200, {"app_id": "flaky", "messages": 1})],
        "down": [(503, {"error_code": "internal_server_error", "error": "down"})] * 5,
    }

    def handler(request):
        app_id = request.url.path.split("/")[-2]
        seen.append((request.method, request.url.path, request.headers.get("authorization")))
        status, body = answers[app_id].pop(0)
        return httpx.Response(status, json=body)

    async def no_wait(seconds):
        await asyncio.sleep(0)

    import dify_mgmt_async._core as core
    core.anyio.sleep = no_wait  # retries must not really wait

    async def main():
        result = {}
        async with DifyManagementClient("https://dify.example.com", "tok-x", transport=httpx.MockTransport(handler),
                                        max_retries=2) as dify:
            stats = await dify.apps.get_stats("a1")
            result["type"] = type(stats).__name__
            result["is_app_stats"] = isinstance(stats, AppStats)
            result["values"] = [stats.app_id, stats.messages]
            result["first_request"] = list(seen[0])
            try:
                await dify.apps.get_stats("gone")
            except NotFoundError as exc:
                result["not_found"] = [exc.status_code, exc.error_code]
            seen.clear()
            flaky = await dify.apps.get_stats("flaky")
            result["flaky_attempts"] = len(seen)
            result["flaky_messages"] = flaky.messages
            seen.clear()
            try:
                await dify.apps.get_stats("down")
            except InternalServerError as exc:
                result["down_attempts"] = len(seen)
                result["down_status"] = exc.status_code
        print(json.dumps(result))

    asyncio.run(main())
    """
)

TYPING_CHECK = textwrap.dedent(
    """
    from dify_mgmt_async import AppStats, DifyManagementClient


    async def use(dify: DifyManagementClient) -> int:
        stats = await dify.apps.get_stats("a1")
        typed: AppStats = stats
        wrong: str = await dify.apps.get_stats("a1")  # type: ignore[assignment]
        await dify.apps.get_stats(123)  # type: ignore[arg-type]
        reveal_type(stats)
        return typed.messages + len(wrong)
    """
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package regenerated from the spec plus GET /apps/{app_id}/stats; returns its sys.path root."""
    tmp = tmp_path_factory.mktemp("regen")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec["paths"]["/api/management/apps/{app_id}/stats"] = STATS_OPERATION
    spec["components"]["schemas"]["AppStats"] = APP_STATS_SCHEMA
    spec_path = tmp / "management.yaml"
    spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    root = tmp / "site"
    package = root / "dify_mgmt_async"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "generator" / "generate.py"), "--spec", str(spec_path), "--out", str(package)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def run_check(regenerated: Path, name: str, source: str) -> Any:
    """Run ``source`` with the regenerated package first on sys.path; its JSON report."""
    script = regenerated.parent / name
    script.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [str(PYTHON), str(script), str(regenerated)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(regenerated), "COLUMNS": "200"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_regenerated_code_has_the_new_method(regenerated: Path) -> None:
    """The regenerated namespace layer has AppsResource.get_stats and a generated get_app_stats module."""
    package = regenerated / "dify_mgmt_async"
    assert (package / "_generated" / "api" / "apps" / "get_app_stats.py").is_file()
    resources = (package / "_resources.py").read_text(encoding="utf-8")
    assert "async def get_stats(" in resources
    assert "-> AppStats:" in resources
    assert "async def get_stats(" not in (PACKAGE / "_resources.py").read_text(encoding="utf-8")


def test_new_method_works_with_auth_errors_and_retries(regenerated: Path) -> None:
    """dify.apps.get_stats sends GET with auth, parses AppStats, maps 404, and retries a 503."""
    report = run_check(regenerated, "runtime_check.py", RUNTIME_CHECK)
    assert report["type"] == "AppStats" and report["is_app_stats"]
    assert report["values"] == ["a1", 42]
    assert report["first_request"] == ["GET", "/api/management/apps/a1/stats", "Bearer tok-x"]
    assert report["not_found"] == [404, "not_found"]
    assert report["flaky_attempts"] == 3 and report["flaky_messages"] == 1
    assert report["down_attempts"] == 3 and report["down_status"] == 503


def test_new_method_is_typed(regenerated: Path) -> None:
    """mypy sees get_stats(app_id: str | UUID) -> AppStats: the type: ignores are needed, reveal_type says AppStats."""
    work = regenerated.parent
    check = work / "typing_check.py"
    check.write_text(TYPING_CHECK, encoding="utf-8")
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "mypy"),
            "--strict",
            "--warn-unused-ignores",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            str(check),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env={**os.environ, "MYPYPATH": str(regenerated)},
        check=False,
    )
    output = result.stdout + result.stderr
    assert 'Revealed type is "dify_mgmt_async._generated.models.app_stats.AppStats"' in output, output
    assert "error" not in output.replace("0 errors", ""), output
    assert "unused" not in output, output


CLI_CHECK = textwrap.dedent(
    """
    import contextlib, io, json, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import dify_mgmt_async
    from dify_mgmt_async.cli import main

    assert dify_mgmt_async.__file__.startswith(sys.argv[1]), dify_mgmt_async.__file__
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append([self.path, self.headers.get("authorization")])
            body = json.dumps({"app_id": "a1", "messages": 42}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def run(*args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue()

    help_code, help_text = run("apps", "get-stats", "--help")
    url = f"http://127.0.0.1:{server.server_address[1]}"
    code, output = run("--base-url", url, "--token", "tok-x", "--output", "json", "apps", "get-stats", "a1")
    print(json.dumps({"help_code": help_code, "help": help_text, "code": code, "output": output, "seen": seen}))
    """
)


def test_new_operation_is_a_cli_command(regenerated: Path) -> None:
    """`dify-mgmt apps get-stats APP_ID` exists after regenerating, with the spec's summary, and calls the API."""
    report = run_check(regenerated, "cli_check.py", CLI_CHECK)
    assert report["help_code"] == 0
    assert "Get an app's statistics: GET /api/management/apps/{app_id}/stats" in report["help"]
    assert "APP_ID" in report["help"]
    assert report["code"] == 0
    assert json.loads(report["output"]) == {"app_id": "a1", "messages": 42}
    assert report["seen"] == [["/api/management/apps/a1/stats", "Bearer tok-x"]]
