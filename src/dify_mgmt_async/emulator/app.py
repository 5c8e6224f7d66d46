"""The emulator's HTTP layer: a Starlette app serving the 24 operations of ``openapi/management.yaml``.

Every answer follows the spec: errors are ``{error_code, error}``, lists are ``{data, total, page, limit}``,
creates answer 201, deletes answer 200 ``{"result": "success"}``. Fault injection (latency, dropped
connections, 5xx) and counters live in an outer ASGI layer; ``/_emulator/*`` is the control API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .store import (
    APP_MODES,
    PERMISSIONS,
    UPLOAD_EXTENSIONS,
    ApiError,
    EmulatorConfig,
    Store,
    invalid,
)

__all__ = ["build_app"]

PREFIX = "/api/management"
CONTROL_HEADER = "X-Emulator-Secret"
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_FIELD_BYTES = 64 * 1024
CHUNK = 64 * 1024

Handler = Callable[[Request, Store], Awaitable[Response]]

# -- validation -----------------------------------------------------------------------------------------------------


def _string(
    name: str,
    value: Any,
    *,
    max_length: int = 255,
    enum: tuple[str, ...] | None = None,
    pattern: re.Pattern[str] | None = None,
    min_length: int = 1,
) -> str:
    if not isinstance(value, str):
        raise invalid(f"{name}: must be a string")
    if len(value) < min_length:
        raise invalid(f"{name}: must not be empty")
    if len(value) > max_length:
        raise invalid(f"{name}: must be at most {max_length} characters")
    if enum is not None and value not in enum:
        raise invalid(f"{name}: must be one of {', '.join(enum)}")
    if pattern is not None and not pattern.match(value):
        raise invalid(f"{name}: must match {pattern.pattern}")
    return value


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 3.0 is the integer 3
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name}: must be an integer")
    if value < minimum:
        raise invalid(f"{name}: must be >= {minimum}")
    return value


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{name}: must be an object")
    return value


Field = Callable[[str, Any], Any]

NAME: Field = _string
DESCRIPTION: Field = lambda n, v: _string(n, v, max_length=2000, min_length=0)  # noqa: E731
ICON_BG: Field = lambda n, v: _string(n, v, pattern=HEX_COLOR)  # noqa: E731

APP_CREATE: dict[str, Field] = {
    "name": NAME,
    "mode": lambda n, v: _string(n, v, enum=APP_MODES),
    "icon": NAME,
    "icon_background": ICON_BG,
    "description": DESCRIPTION,
}
APP_UPDATE = {k: v for k, v in APP_CREATE.items() if k != "mode"}
DATASET_FIELDS: dict[str, Field] = {
    "name": NAME,
    "description": DESCRIPTION,
    "permission": lambda n, v: _string(n, v, enum=PERMISSIONS),
}
KEY_RESET: dict[str, Field] = {"type": lambda n, v: _string(n, v, enum=("api_key", "api_secret"))}
CREDENTIALS: dict[str, Field] = {"credentials": _object}
WORKSPACE_UPDATE: dict[str, Field] = {"name": NAME, "plan_settings": _object}
API_KEY_CREATE: dict[str, Field] = {"name": NAME, "expires_at": lambda n, v: _integer(n, v, 0)}
PROCESS_RULE: dict[str, Field] = {
    "chunk_size": lambda n, v: _integer(n, v, 1),
    "chunk_overlap": lambda n, v: _integer(n, v, 0),
    "separator": lambda n, v: _string(n, v, max_length=1000, min_length=1),
}


def check_fields(
    body: Any,
    fields: dict[str, Field],
    required: tuple[str, ...] = (),
    where: str = "body",
) -> dict[str, Any]:
    """The body as a dict, after checking it is an object of known, well-typed fields."""
    if not isinstance(body, dict):
        raise invalid(f"{where}: must be a JSON object")
    for name in body:
        if name not in fields:
            raise invalid(f"{name}: unknown field")
    for name in required:
        if name not in body:
            raise invalid(f"{name}: is required")
    return {name: fields[name](name, value) for name, value in body.items()}


def check_process_rule(raw: Any) -> dict[str, Any]:
    try:
        rule = check_fields(raw, PROCESS_RULE, where="process_rule")
    except ApiError as exc:
        message = exc.message if exc.message.startswith("process_rule") else f"process_rule.{exc.message}"
        raise invalid(message) from None
    size = rule.get("chunk_size", 500)
    overlap = rule.get("chunk_overlap", 0)
    if overlap >= size:
        raise invalid(f"process_rule.chunk_overlap: must be less than chunk_size ({size})")
    return rule


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise invalid("body: a JSON object is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"body: malformed JSON ({exc})") from None


def _query_int(request: Request, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise invalid(f"{name}: must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise invalid(f"{name} must be between {minimum} and {maximum}" if maximum else f"{name} must be >= {minimum}")
    return value


def _query_str(request: Request, name: str, enum: tuple[str, ...] | None = None) -> str | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return _string(name, raw, enum=enum, max_length=10_000)


def page_of(request: Request, items: list[dict[str, Any]], page: int, limit: int) -> JSONResponse:
    start = (page - 1) * limit
    return JSONResponse({"data": items[start : start + limit], "total": len(items), "page": page, "limit": limit})


def paging(request: Request, maximum: int | None = 100) -> tuple[int, int]:
    """``page`` and ``limit``; ``maximum=None`` where the seed states no maximum (documents, API keys)."""
    return _query_int(request, "page", 1, 1), _query_int(request, "limit", 20, 1, maximum)


DELETED = {"result": "success"}

# -- operations -----------------------------------------------------------------------------------------------------


async def list_apps(request: Request, store: Store) -> Response:
    page, limit = paging(request)
    # Any mode string is a filter (servers add modes; the spec's AppModeValue is any string, even "").
    name, mode = _query_str(request, "name"), request.query_params.get("mode")
    return page_of(request, store.list_apps(name, mode), page, limit)


async def create_app(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), APP_CREATE, ("name", "mode"))
    return JSONResponse(store.create_app(body), status_code=201)


async def get_app(request: Request, store: Store) -> Response:
    return JSONResponse(store.get_app(request.path_params["app_id"]))


async def update_app(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), APP_UPDATE)
    return JSONResponse(store.update_app(request.path_params["app_id"], body))


async def delete_app(request: Request, store: Store) -> Response:
    store.delete_app(request.path_params["app_id"])
    return JSONResponse(DELETED)


async def get_app_api_keys(request: Request, store: Store) -> Response:
    return JSONResponse(store.app_keys(request.path_params["app_id"]))


async def reset_app_api_keys(request: Request, store: Store) -> Response:
    app_id = request.path_params["app_id"]
    body = check_fields(await json_body(request), KEY_RESET, ("type",))
    return JSONResponse(store.reset_app_key(app_id, body["type"]))


async def list_datasets(request: Request, store: Store) -> Response:
    page, limit = paging(request)
    return page_of(request, store.list_datasets(_query_str(request, "name")), page, limit)


async def create_dataset(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), DATASET_FIELDS, ("name",))
    return JSONResponse(store.create_dataset(body), status_code=201)


async def get_dataset(request: Request, store: Store) -> Response:
    return JSONResponse(store.get_dataset(request.path_params["dataset_id"]))


async def update_dataset(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), DATASET_FIELDS)
    return JSONResponse(store.update_dataset(request.path_params["dataset_id"], body))


async def delete_dataset(request: Request, store: Store) -> Response:
    store.delete_dataset(request.path_params["dataset_id"])
    return JSONResponse(DELETED)


async def list_documents(request: Request, store: Store) -> Response:
    page, limit = paging(request, None)
    status = _query_str(request, "status")  # the seed's "按状态筛选": matches `status` or `indexing_status`
    return page_of(request, store.list_documents(request.path_params["dataset_id"], status), page, limit)


async def delete_document(request: Request, store: Store) -> Response:
    store.delete_document(request.path_params["dataset_id"], request.path_params["document_id"])
    return JSONResponse(DELETED)


async def list_models(request: Request, store: Store) -> Response:
    from .store import MODELS

    return JSONResponse({"data": MODELS})


async def list_model_providers(request: Request, store: Store) -> Response:
    return JSONResponse({"data": store.providers()})


async def update_model_provider_credentials(request: Request, store: Store) -> Response:
    provider = request.path_params["provider_name"]
    body = check_fields(await json_body(request), CREDENTIALS, ("credentials",))
    store.set_credentials(provider, body["credentials"])
    return JSONResponse({"result": "success"})


async def get_current_workspace(request: Request, store: Store) -> Response:
    return JSONResponse(store.get_workspace())


async def update_current_workspace(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), WORKSPACE_UPDATE)
    return JSONResponse(store.update_workspace(body))


async def get_current_user(request: Request, store: Store) -> Response:
    with store.lock:
        return JSONResponse(dict(store.user))


async def list_api_keys(request: Request, store: Store) -> Response:
    page, limit = paging(request, None)
    return page_of(request, store.list_keys(), page, limit)


async def create_api_key(request: Request, store: Store) -> Response:
    body = check_fields(await json_body(request), API_KEY_CREATE, ("name",))
    return JSONResponse(store.create_key(body), status_code=201)


async def delete_api_key(request: Request, store: Store) -> Response:
    store.delete_key(request.path_params["api_key_id"])
    return JSONResponse(DELETED)


# -- uploads --------------------------------------------------------------------------------------------------------


class _UploadSink:
    """Multipart callbacks: the ``file`` part goes to a temporary file (hashed, counted) and other parts to memory."""

    def __init__(self, limit: int, directory: str | None) -> None:
        self.limit = limit
        self.directory = directory
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part_name: str | None = None
        self.filename: str | None = None
        self.files = 0
        self.size = 0
        self.too_large = False
        self.hash = hashlib.sha256()
        self.words = 0
        self.in_word = False
        self.tmp: Any = None
        self.fields: dict[str, bytearray] = {}
        self.error: ApiError | None = None

    def on_part_begin(self) -> None:
        self.headers = {}
        self.part_name = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self.part_name = name
        if name == "file":
            self.files += 1
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            if self.files == 1:
                self.tmp = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 - closed in finish()
        else:
            self.fields.setdefault(name, bytearray())

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part_name == "file":
            if self.files != 1 or self.too_large:
                return
            self.size += len(chunk)
            if self.size > self.limit:
                self.too_large = True
                return
            self.hash.update(chunk)
            self.tmp.write(chunk)
            for byte in chunk:
                space = byte in b" \t\n\r\x0b\x0c"
                if not space and not self.in_word:
                    self.words += 1
                self.in_word = not space
        elif self.part_name is not None:
            buffer = self.fields[self.part_name]
            if len(buffer) + len(chunk) > MAX_FIELD_BYTES:
                self.error = invalid(f"{self.part_name}: part is too large")
                return
            buffer.extend(chunk)

    def finish(self) -> None:
        if self.tmp is not None:
            self.tmp.close()
            self.tmp = None


async def upload_document(request: Request, store: Store) -> Response:
    dataset_id = request.path_params["dataset_id"]
    store.check_dataset(dataset_id)
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(415, "unsupported_media_type", "body: must be multipart/form-data with a boundary")
    limit = int(store.config.max_upload_mb * 1024 * 1024)
    sink = _UploadSink(limit, getattr(request.app.state, "upload_dir", None))
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": sink.on_part_begin,
            "on_header_field": sink.on_header_field,
            "on_header_value": sink.on_header_value,
            "on_header_end": sink.on_header_end,
            "on_headers_finished": sink.on_headers_finished,
            "on_part_data": sink.on_part_data,
        },
    )
    try:
        async for chunk in request.stream():
            # Read the whole body even when it will be refused, so the client sees the answer, not a reset.
            parser.write(chunk)
        parser.finalize()
    except Exception as exc:
        raise invalid(f"body: malformed multipart ({exc})") from None
    finally:
        sink.finish()
    if sink.error is not None:
        raise sink.error
    if sink.files == 0:
        raise invalid("file: a file part is required")
    if sink.files > 1:
        raise invalid("file: exactly one file part is allowed")
    unknown = [name for name in sink.fields if name != "process_rule"]
    if unknown:
        raise invalid(f"{unknown[0]}: unknown form field")
    filename = os.path.basename((sink.filename or "").replace("\\", "/"))
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension not in UPLOAD_EXTENSIONS:
        shown = f".{extension}" if extension else f"of {filename or 'an unnamed file'}"
        raise ApiError(415, "unsupported_file_type", f"file: file type {shown} is not supported")
    if sink.too_large:
        mb = store.config.max_upload_mb
        raise ApiError(413, "file_too_large", f"file: is larger than {mb:g} MiB")
    rule: dict[str, Any] = {}
    if "process_rule" in sink.fields:
        try:
            raw_rule = json.loads(bytes(sink.fields["process_rule"]))
        except (ValueError, UnicodeDecodeError):
            raise invalid("process_rule: malformed JSON") from None
        rule = check_process_rule(raw_rule)
    document = store.add_document(
        dataset_id,
        filename,
        size=sink.size,
        sha256=sink.hash.hexdigest(),
        words=sink.words,
        process_rule=rule,
    )
    return JSONResponse(document, status_code=201)


# -- wiring ---------------------------------------------------------------------------------------------------------


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse({"error_code": exc.code, "error": exc.message}, status_code=exc.status, headers=exc.headers)


def _operation(operation_id: str, handler: Handler, store: Store) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        store.count(operation_id)
        try:
            key = store.authenticate(request.headers.get("authorization"))
            store.take(key.token)
            allowed = QUERY.get(operation_id, ())
            for name in request.query_params:
                if name not in allowed:
                    raise invalid(f"{name}: unknown query parameter")
            return await handler(request, store)
        except ApiError as exc:
            return _error(exc)

    endpoint.__name__ = operation_id
    return endpoint


QUERY: dict[str, tuple[str, ...]] = {
    "list_apps": ("page", "limit", "name", "mode"),
    "list_datasets": ("page", "limit", "name"),
    "list_documents": ("page", "limit", "status"),
    "list_api_keys": ("page", "limit"),
}

OPERATIONS: list[tuple[str, str, str, Handler]] = [
    ("GET", "/apps", "list_apps", list_apps),
    ("POST", "/apps", "create_app", create_app),
    ("GET", "/apps/{app_id}", "get_app", get_app),
    ("PATCH", "/apps/{app_id}", "update_app", update_app),
    ("DELETE", "/apps/{app_id}", "delete_app", delete_app),
    ("GET", "/apps/{app_id}/api-keys", "get_app_api_keys", get_app_api_keys),
    ("POST", "/apps/{app_id}/api-keys/reset", "reset_app_api_keys", reset_app_api_keys),
    ("GET", "/datasets", "list_datasets", list_datasets),
    ("POST", "/datasets", "create_dataset", create_dataset),
    ("GET", "/datasets/{dataset_id}", "get_dataset", get_dataset),
    ("PATCH", "/datasets/{dataset_id}", "update_dataset", update_dataset),
    ("DELETE", "/datasets/{dataset_id}", "delete_dataset", delete_dataset),
    ("POST", "/datasets/{dataset_id}/documents/upload", "upload_document", upload_document),
    ("GET", "/datasets/{dataset_id}/documents", "list_documents", list_documents),
    ("DELETE", "/datasets/{dataset_id}/documents/{document_id}", "delete_document", delete_document),
    ("GET", "/models", "list_models", list_models),
    ("GET", "/model-providers", "list_model_providers", list_model_providers),
    (
        "POST",
        "/model-providers/{provider_name}/credentials",
        "update_model_provider_credentials",
        update_model_provider_credentials,
    ),
    ("GET", "/workspaces/current", "get_current_workspace", get_current_workspace),
    ("PATCH", "/workspaces/current", "update_current_workspace", update_current_workspace),
    ("GET", "/users/current", "get_current_user", get_current_user),
    ("GET", "/api-keys", "list_api_keys", list_api_keys),
    ("POST", "/api-keys", "create_api_key", create_api_key),
    ("DELETE", "/api-keys/{api_key_id}", "delete_api_key", delete_api_key),
]


def _control_routes(store: Store) -> list[Route]:
    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            given = request.headers.get(CONTROL_HEADER, "")
            if not secrets.compare_digest(given.encode(), store.config.control_secret.encode()):
                return _error(ApiError(401, "unauthorized", f"{CONTROL_HEADER}: missing or wrong"))
            try:
                return await handler(request)
            except ApiError as exc:
                return _error(exc)

        return endpoint

    async def get_config(request: Request) -> Response:
        return JSONResponse(store.config.public())

    async def set_config(request: Request) -> Response:
        body = await json_body(request)
        store.config.update(_object("body", body))
        return JSONResponse(store.config.public())

    async def stats(request: Request) -> Response:
        return JSONResponse(store.stats())

    async def reset(request: Request) -> Response:
        store.reset_counters()
        return JSONResponse(store.stats())

    async def uploads(request: Request) -> Response:
        return JSONResponse({"data": store.uploads()})

    return [
        Route("/_emulator/config", guarded(get_config), methods=["GET"]),
        Route("/_emulator/config", guarded(set_config), methods=["POST", "PATCH"]),
        Route("/_emulator/stats", guarded(stats), methods=["GET"]),
        Route("/_emulator/stats/reset", guarded(reset), methods=["POST"]),
        Route("/_emulator/uploads", guarded(uploads), methods=["GET"]),
    ]


class _Faults:
    """Outer ASGI layer for ``/api/management``: in-flight counting, latency, dropped connections and 5xx."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        store, config = self.store, self.store.config
        store.enter()
        try:
            if config.latency_ms > 0:
                await asyncio.sleep(config.latency_ms / 1000)
            with store.lock:
                roll_drop, roll_fail = store.random.random(), store.random.random()
                status = store.random.choice((500, 502, 503))
            if roll_drop < config.drop_rate and _drop(send):
                with store.lock:
                    store.faults["dropped"] += 1
                return
            if roll_fail < config.fail_rate:
                with store.lock:
                    store.faults[str(status)] += 1
                code = "internal_server_error"
                response = JSONResponse({"error_code": code, "error": "Injected failure"}, status_code=status)
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
        finally:
            store.leave()


def _drop(send: Send) -> bool:
    """Close the connection without answering; False if the server does not let us (then a 5xx is sent)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    cycle.disconnected = True  # type: ignore[union-attr]  # uvicorn then sends nothing more
    return True


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(ApiError(404, "not_found", f"{request.url.path}: no such route"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error_code": "method_not_allowed", "error": f"{request.method}: not allowed"}, 405)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error_code": "internal_server_error", "error": f"{type(exc).__name__}: {exc}"}, 500)


def build_app(
    config: EmulatorConfig | None = None, store: Store | None = None, upload_dir: str | None = None
) -> ASGIApp:
    """The emulator as an ASGI app; its ``Store`` is ``app.state.store`` of the inner Starlette app."""
    if store is None:
        store = Store(config or EmulatorConfig())
    if not store.config.control_secret:
        store.config.control_secret = secrets.token_urlsafe(24)
    routes = [
        Route(PREFIX + path, _operation(op_id, handler, store), methods=[method], name=op_id)
        for method, path, op_id, handler in OPERATIONS
    ]
    routes += _control_routes(store)
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_allowed, 500: _server_error},
    )
    app.state.store = store
    app.state.upload_dir = upload_dir
    return _Faults(app, store)
