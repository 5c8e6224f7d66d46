"""Every answer the emulator's tests receive is checked against the spec by openapi-core's response validator.

The check is openapi-core's own (its whole response path: status, headers, media type, body schema),
not the emulator's compiled request checks, so the two cannot share a mistake. Answers to requests
the spec has no operation for (the control API, unknown routes) and answers the fault injection
made up (marked ``X-Emulator-Fault``) are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from dify_mgmt_async.emulator import EmulatorServer
from dify_mgmt_async.emulator.app import FAULT_HEADER
from tests.conftest import SPEC_PATH

P = "/api/management"
SPEC = OpenAPI.from_file_path(str(SPEC_PATH))


class SpecRequest:
    """An ``httpx.Request`` as openapi-core's request protocol sees it (the body is not needed for answers)."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )
        self.body = None
        self.content_type = request.headers.get("content-type", "")


class SpecResponse:
    """An ``httpx.Response`` as openapi-core's response protocol sees it."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content or None
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(response.headers.multi_items())


def check_response(response: httpx.Response) -> None:
    """Raise AssertionError when ``response`` is not what the spec says its operation answers."""
    response.read()
    request = response.request
    if FAULT_HEADER in response.headers or not request.url.path.startswith(P):
        return
    try:
        SPEC.validate_response(SpecRequest(request), SpecResponse(response))
    except (PathNotFound, OperationNotFound):
        return  # no operation of the spec: a 404/405 of the router
    except Exception as exc:
        cause = exc.__cause__
        details = getattr(cause, "schema_errors", None) or cause or ""
        raise AssertionError(
            f"{request.method} {request.url.path} answered {response.status_code}, which the spec does not allow: "
            f"{exc} {details}\n{response.text[:500]}"
        ) from exc


@pytest.fixture
def spec_client() -> Iterator[Callable[..., httpx.Client]]:
    """Makes ``httpx.Client``s whose every answer goes through ``check_response``; closes them after the test."""
    clients: list[httpx.Client] = []

    def make(base_url: str, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=base_url, event_hooks={"response": [check_response]}, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(dify_emulator_server: EmulatorServer, spec_client: Callable[..., httpx.Client]) -> httpx.Client:
    """A client of the management API of a fresh emulator, with its token; answers checked against the spec."""
    auth = {"Authorization": f"Bearer {dify_emulator_server.token}"}
    return spec_client(dify_emulator_server.base_url + P, headers=auth)
