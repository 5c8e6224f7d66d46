"""The emulator's HTTP layer: a Starlette app serving the operations of ``openapi/management.yaml``.

Routes and request checks come from the spec (``validation``); the handlers here hold only behaviour:
storage, conflicts, indexing, uploads. Every answer follows the spec: errors are ``{error_code, error}``,
lists are ``{data, total, page, limit}``, creates answer 201, deletes answer 200 ``{"result": "success"}``.
Fault injection (latency, dropped connections, 5xx) and counters live in an outer ASGI layer;
``/_emulator/*`` is the control API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .store import MODELS, UPLOAD_EXTENSIONS, ApiError, EmulatorConfig, Store, invalid
from .validation import Operation, load, parse_json

__all__ = ["FAULT_HEADER", "HANDLERS", "Call", "build_app", "end_pauses", "reopen"]

PREFIX = "/api/management"
CONTROL_HEADER = "X-Emulator-Secret"
FAULT_HEADER = "X-Emulator-Fault"
"""Marks an answer the fault injection made up (a 5xx no handler sent), which the spec does not describe."""
MAX_FIELD_BYTES = 64 * 1024

# -- operations -----------------------------------------------------------------------------------------------------
#
# Each handler gets the request already checked against the spec (``validation.Operation``): ``call.params``
# holds the declared parameters, typed, with the spec's defaults, and ``call.body`` the JSON body. What is
# left here is state: storage, conflicts, indexing. The defaults in ``_page`` are the seed's, for a spec
# that leaves them out.


@dataclass(frozen=True)
class Call:
    """One request, after the spec's checks."""

    request: Request
    operation: Operation
    params: dict[str, Any]
    body: Any


Handler = Callable[[Call, Store], Awaitable[Response]]

DELETED = {"result": "success"}


def _page(call: Call, items: list[dict[str, Any]]) -> JSONResponse:
    page, limit = call.params.get("page", 1), call.params.get("limit", 20)
    start = (page - 1) * limit
    return JSONResponse({"data": items[start : start + limit], "total": len(items), "page": page, "limit": limit})


async def list_apps(call: Call, store: Store) -> Response:
    return _page(call, store.list_apps(call.params.get("name"), call.params.get("mode")))


async def create_app(call: Call, store: Store) -> Response:
    return JSONResponse(store.create_app(call.body), status_code=201)


async def get_app(call: Call, store: Store) -> Response:
    return JSONResponse(store.get_app(call.params["app_id"]))


async def update_app(call: Call, store: Store) -> Response:
    return JSONResponse(store.update_app(call.params["app_id"], call.body))


async def delete_app(call: Call, store: Store) -> Response:
    store.delete_app(call.params["app_id"])
    return JSONResponse(DELETED)


async def get_app_api_keys(call: Call, store: Store) -> Response:
    return JSONResponse(store.app_keys(call.params["app_id"]))


async def reset_app_api_keys(call: Call, store: Store) -> Response:
    return JSONResponse(store.reset_app_key(call.params["app_id"], call.body["type"]))


async def list_datasets(call: Call, store: Store) -> Response:
    return _page(call, store.list_datasets(call.params.get("name")))


async def create_dataset(call: Call, store: Store) -> Response:
    return JSONResponse(store.create_dataset(call.body), status_code=201)


async def get_dataset(call: Call, store: Store) -> Response:
    return JSONResponse(store.get_dataset(call.params["dataset_id"]))


async def update_dataset(call: Call, store: Store) -> Response:
    return JSONResponse(store.update_dataset(call.params["dataset_id"], call.body))


async def delete_dataset(call: Call, store: Store) -> Response:
    store.delete_dataset(call.params["dataset_id"])
    return JSONResponse(DELETED)


async def list_documents(call: Call, store: Store) -> Response:
    # The seed's "按状态筛选": matches a document's `status` or its `indexing_status`.
    return _page(call, store.list_documents(call.params["dataset_id"], call.params.get("status")))


async def delete_document(call: Call, store: Store) -> Response:
    store.delete_document(call.params["dataset_id"], call.params["document_id"])
    return JSONResponse(DELETED)


async def list_models(call: Call, store: Store) -> Response:
    return JSONResponse({"data": MODELS})


async def list_model_providers(call: Call, store: Store) -> Response:
    return JSONResponse({"data": store.providers()})


async def update_model_provider_credentials(call: Call, store: Store) -> Response:
    store.set_credentials(call.params["provider_name"], call.body["credentials"])
    return JSONResponse({"result": "success"})


async def get_current_workspace(call: Call, store: Store) -> Response:
    return JSONResponse(store.get_workspace())


async def update_current_workspace(call: Call, store: Store) -> Response:
    return JSONResponse(store.update_workspace(call.body))


async def get_current_user(call: Call, store: Store) -> Response:
    with store.lock:
        return JSONResponse(dict(store.user))


async def list_api_keys(call: Call, store: Store) -> Response:
    return _page(call, store.list_keys())


async def create_api_key(call: Call, store: Store) -> Response:
    return JSONResponse(store.create_key(call.body), status_code=201)


async def delete_api_key(call: Call, store: Store) -> Response:
    store.delete_key(call.params["api_key_id"])
    return JSONResponse(DELETED)


# -- uploads --------------------------------------------------------------------------------------------------------


class _UploadSink:
    """Multipart callbacks: the file part goes to a temporary file (hashed, counted), other parts to memory.

    ``file_parts`` are the form's binary fields, from the spec; the first part sent for one of them is
    the document, later ones are only counted (the form check refuses a second one).
    """

    def __init__(self, limit: int, directory: str | None, file_parts: frozenset[str]) -> None:
        self.limit = limit
        self.directory = directory
        self.file_parts = file_parts
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part_name: str | None = None
        self.storing = False
        self.filename: str | None = None
        self.files: dict[str, int] = dict.fromkeys(file_parts, 0)
        self.size = 0
        self.too_large = False
        self.hash = hashlib.sha256()
        self.words = 0
        self.in_word = False
        self.tmp: Any = None
        self.fields: dict[str, list[bytearray]] = {}
        self.error: ApiError | None = None

    def on_part_begin(self) -> None:
        self.headers = {}
        self.part_name = None
        self.storing = False

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
        if name in self.file_parts:
            self.files[name] += 1
            if self.tmp is None and sum(self.files.values()) == 1:
                raw = options.get(b"filename")
                self.filename = raw.decode("utf-8", "replace") if raw is not None else None
                self.tmp = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 - closed in finish()
                self.storing = True
        else:
            self.fields.setdefault(name, []).append(bytearray())

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part_name in self.file_parts:
            if not self.storing or self.too_large:
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
            buffer = self.fields[self.part_name][-1]
            if len(buffer) + len(chunk) > MAX_FIELD_BYTES:
                self.error = invalid(f"{self.part_name}: part is too large")
                return
            buffer.extend(chunk)

    def finish(self) -> None:
        if self.tmp is not None:
            self.tmp.close()
            self.tmp = None


async def upload_document(call: Call, store: Store) -> Response:
    """Streams the file part to disk; checks the other parts against the spec's form schema."""
    request, operation = call.request, call.operation
    assert operation.body is not None
    dataset_id = call.params["dataset_id"]
    store.check_dataset(dataset_id)
    operation.media_type(request.headers.get("content-type", ""))
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(415, "unsupported_media_type", "body: multipart/form-data needs a boundary")
    limit = int(store.config.max_upload_mb * 1024 * 1024)
    sink = _UploadSink(limit, getattr(request.app.state, "upload_dir", None), operation.body.file_parts)
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
    form = operation.read_form({k: [bytes(v) for v in vs] for k, vs in sink.fields.items()}, sink.files)
    filename = os.path.basename((sink.filename or "").replace("\\", "/"))
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension not in UPLOAD_EXTENSIONS:
        shown = f".{extension}" if extension else f"of {filename or 'an unnamed file'}"
        raise ApiError(415, "unsupported_file_type", f"file: file type {shown} is not supported")
    if sink.too_large:
        mb = store.config.max_upload_mb
        raise ApiError(413, "file_too_large", f"file: is larger than {mb:g} MiB")
    rule: dict[str, Any] = form.get("process_rule") or {}
    # A rule between two fields, which a JSON Schema cannot state (the spec says it in words).
    size, overlap = rule.get("chunk_size", 500), rule.get("chunk_overlap", 0)
    if overlap >= size:
        raise invalid(f"process_rule.chunk_overlap: must be less than chunk_size ({size})")
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


def _endpoint(operation: Operation, handler: Handler, store: Store) -> Callable[[Request], Awaitable[Response]]:
    """Auth, then the rate limit, then the spec's checks, then the handler; every refusal is ``{error_code, error}``."""
    body = operation.body
    streamed = body is not None and "multipart/form-data" in body.validators  # the handler streams it

    async def endpoint(request: Request) -> Response:
        store.count(operation.operation_id)
        fields: dict[str, str] = {}  # the rate-limit fields a request that got past the limiter is answered with
        try:
            key = store.authenticate(request.headers.get("authorization"))
            fields = store.take(key.token)
            params = operation.read_parameters(
                request.query_params.getlist, request.headers.getlist, request.path_params, request.cookies
            )
            content = None
            if body is not None and not streamed:
                content = operation.read_json(request.headers.get("content-type", ""), await request.body())
            response = await handler(Call(request, operation, params, content), store)
        except ApiError as exc:
            response = _error(exc)  # a 429 from the limiter carries its fields already (``fields`` is still empty)
        response.headers.update(fields)
        return response

    endpoint.__name__ = operation.operation_id
    return endpoint


async def _not_implemented(call: Call, store: Store) -> Response:
    raise ApiError(501, "not_implemented", f"{call.operation.operation_id}: the emulator has no behaviour for it")


HANDLERS: dict[str, Handler] = {
    handler.__name__: handler
    for handler in (
        list_apps,
        create_app,
        get_app,
        update_app,
        delete_app,
        get_app_api_keys,
        reset_app_api_keys,
        list_datasets,
        create_dataset,
        get_dataset,
        update_dataset,
        delete_dataset,
        upload_document,
        list_documents,
        delete_document,
        list_models,
        list_model_providers,
        update_model_provider_credentials,
        get_current_workspace,
        update_current_workspace,
        get_current_user,
        list_api_keys,
        create_api_key,
        delete_api_key,
    )
}
"""The behaviour of each operation of the spec, by ``operationId``; the routes come from the spec."""


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
        body = parse_json(await request.body())
        if not isinstance(body, dict):
            raise invalid("body: must be a JSON object")
        store.config.update(body)
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

    def __init__(self, app: Starlette, store: Store) -> None:
        self.app = app
        self.store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pauses: set[asyncio.Future[None]] = set()
        self._ended = False

    async def _pause(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``, cut short by ``end_pauses()``."""
        loop = self._loop = asyncio.get_running_loop()
        if self._ended:  # read after ``_loop`` is set: end_pauses() either sees the loop or is seen here
            return
        waiter = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        self._pauses.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._pauses.discard(waiter)

    def end_pauses(self) -> None:
        """From any thread: pauses under way end now, pauses to come are skipped."""
        self._ended = True
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # its loop is closed: no pause is under way
                loop.call_soon_threadsafe(self._end_all)

    def reopen(self, upload_dir: str | None) -> None:
        """Undo ``end_pauses()`` for a server about to serve again; uploads go to ``upload_dir``."""
        self._ended = False
        self._loop = None
        self._pauses.clear()
        self.app.state.upload_dir = upload_dir

    def _end_all(self) -> None:
        for waiter in self._pauses:
            _wake(waiter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        store, config = self.store, self.store.config
        store.enter()
        try:
            if config.latency_ms > 0:
                await self._pause(config.latency_ms / 1000)
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
                response = JSONResponse(
                    {"error_code": code, "error": "Injected failure"}, status_code=status, headers={FAULT_HEADER: "5xx"}
                )
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
        finally:
            store.leave()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def end_pauses(app: ASGIApp) -> None:
    """Cut short, from any thread, the ``latency_ms`` pauses of an app from ``build_app``: the requests
    in flight are answered now, and later ones get no pause. A server that stops calls it first, so
    its requests end in time rather than being cancelled."""
    if isinstance(app, _Faults):
        app.end_pauses()


def reopen(app: ASGIApp, upload_dir: str | None) -> None:
    """Ready an app from ``build_app`` whose server stopped (``end_pauses``) to be served again: its
    ``latency_ms`` pauses apply again, and uploads are spooled in ``upload_dir``."""
    if isinstance(app, _Faults):
        app.reopen(upload_dir)


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
    config: EmulatorConfig | None = None,
    store: Store | None = None,
    upload_dir: str | None = None,
    spec: str | Path | None = None,
) -> ASGIApp:
    """The emulator as an ASGI app; its ``Store`` is ``app.state.store`` of the inner Starlette app.

    Its routes and request checks come from the OpenAPI document ``spec`` (default: the one the
    package was built from), so a constraint changed there changes the answers with no code change.
    """
    if store is None:
        store = Store(config or EmulatorConfig())
    if not store.config.control_secret:
        store.config.control_secret = secrets.token_urlsafe(24)
    compiled = load(spec)
    routes = [
        Route(op.path, _endpoint(op, HANDLERS.get(op_id, _not_implemented), store), methods=[op.method], name=op_id)
        for op_id, op in compiled.operations.items()
    ]
    routes += _control_routes(store)
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_allowed, 500: _server_error},
    )
    app.state.store = store
    app.state.upload_dir = upload_dir
    app.state.spec = compiled
    return _Faults(app, store)
