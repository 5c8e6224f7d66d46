"""``EmulatorServer``'s settings and life: its arguments are checked as ``configure()`` checks them, ``stop()``
ends requests still in flight and its thread promptly or says it could not, and nothing is left in the
temporary folder when it does not get going."""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from dify_mgmt_async.emulator import ApiError, EmulatorConfig, EmulatorServer, SettingError
from dify_mgmt_async.emulator.server import SHUTDOWN_GRACE

from .conftest import P

SETTABLE = (
    "rate, burst, limiter, retry_after, rate_limit_headers, fail_rate, latency_ms, drop_rate, indexing_seconds, "
    "indexing_fail_rate, max_upload_mb"
)

BAD: list[tuple[dict[str, Any], str]] = [
    (
        {"limiter": "sliding_log"},
        "limiter: must be one of token-bucket, gcra, fixed-window, sliding-log (got 'sliding_log')",
    ),
    ({"retry_after": "secs"}, "retry_after: must be one of ms, seconds, http-date, none (got 'secs')"),
    ({"rate": "5"}, "rate: must be a number >= 0 (got '5')"),
    ({"burst": -1}, "burst: must be a number >= 0 (got -1)"),
    ({"latency_ms": True}, "latency_ms: must be a number >= 0 (got True)"),
    ({"fail_rate": 2}, "fail_rate: must be between 0 and 1 (got 2)"),
]


@pytest.mark.parametrize(("settings", "message"), BAD, ids=[next(iter(s)) for s, _ in BAD])
def test_a_bad_setting_is_refused_alike_by_the_constructor_configure_and_the_control_api(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingError) as made:
        EmulatorServer(**settings)
    assert str(made.value) == message
    assert isinstance(made.value, ValueError)
    with EmulatorServer() as server:
        before = server.config.public()
        with pytest.raises(SettingError) as configured:
            server.configure(**settings)
        assert str(configured.value) == message
        answer = httpx.post(f"{server.base_url}/_emulator/config", json=settings, headers=server.control_headers)
        assert (answer.status_code, answer.json()) == (400, {"error_code": "invalid_param", "error": message})
        assert server.config.public() == before  # nothing of a refused change applied


def test_not_a_number_is_refused() -> None:
    with pytest.raises(SettingError, match=r"^indexing_seconds: must be a number >= 0 \(got nan\)$"):
        EmulatorServer(indexing_seconds=float("nan"))


HUGE: list[tuple[dict[str, Any], str]] = [
    ({"rate": 5, "burst": math.inf}, "burst: must be a finite number (got inf)"),
    (
        {"latency_ms": 5, "rate": 10**400},
        "rate: must be a finite number (got 100000000000000000...0000000000000000000)",
    ),
    ({"latency_ms": math.inf}, "latency_ms: must be a finite number (got inf)"),
    ({"indexing_seconds": math.inf}, "indexing_seconds: must be a finite number (got inf)"),
    ({"max_upload_mb": 1e308, "burst": 10**5000}, "burst: must be a finite number (got an integer of 16610 bits)"),
]


@pytest.mark.parametrize(
    ("changes", "message"), HUGE, ids=["burst-inf", "rate-400-digits", "latency", "indexing", "5000-digits"]
)
def test_a_number_past_a_floats_range_is_refused_and_applies_nothing(changes: dict[str, Any], message: str) -> None:
    """Refused before anything is applied (the conversion used to raise OverflowError halfway through)."""
    config = EmulatorConfig()
    before = config.public()
    with pytest.raises(SettingError) as caught:
        config.update(changes)
    assert str(caught.value) == message
    assert config.public() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"burst": 1e999}', "burst: must be a finite number (got 1e999)"),
        (b'{"rate": 1, "latency_ms": Infinity}', "latency_ms: must be a finite number (got Infinity)"),
        (
            b'{"rate": 1, "burst": 1' + b"0" * 400 + b"}",
            "burst: must be a finite number (got 100000000000000000...0000000000000000000)",
        ),
        (b'{"limiter": "\\ud800"}', "limiter: is not valid Unicode (a lone surrogate)"),
    ],
    ids=["1e999", "Infinity", "400-digits", "surrogate"],
)
def test_control_api_refuses_a_huge_number_with_400(body: bytes, message: str) -> None:
    with EmulatorServer() as server:
        before = server.config.public()
        answer = httpx.post(
            f"{server.base_url}/_emulator/config",
            content=body,
            headers={**server.control_headers, "content-type": "application/json"},
        )
        assert (answer.status_code, answer.json()) == (400, {"error_code": "invalid_param", "error": message})
        assert server.config.public() == before


def test_an_unknown_setting_is_refused_naming_the_settable_ones() -> None:
    with pytest.raises(SettingError) as made:
        EmulatorServer(ratee=5)
    assert str(made.value) == f"ratee: unknown setting (settable: {SETTABLE}, token, control_secret, seed)"
    with EmulatorServer(token="dify-pat-mine", seed=3) as server:
        assert (server.token, server.config.seed) == ("dify-pat-mine", 3)
        with pytest.raises(SettingError) as configured:
            server.configure(token="dify-pat-other")
        assert str(configured.value) == (
            f"token: unknown setting (only when the emulator starts; settable: {SETTABLE})"
        )


def test_the_start_only_settings_are_checked_without_echoing_a_token() -> None:
    with pytest.raises(SettingError, match=r"^token: must be a string \(got int\)$"):
        EmulatorServer(token=12345)
    with pytest.raises(SettingError, match=r"^seed: must be an integer or None \(got '7'\)$"):
        EmulatorServer(seed="7")


def test_a_config_object_is_checked_too_and_a_refused_change_applies_nothing() -> None:
    with pytest.raises(SettingError, match=r"^limiter: must be one of .* \(got 'gcra2'\)$"):
        EmulatorConfig(limiter="gcra2")
    config = EmulatorConfig()
    with pytest.raises(ApiError):  # still an ApiError, as configure() raised before
        config.update({"rate": 5, "limiter": "nope"})
    assert (config.rate, config.limiter) == (0.0, "token-bucket")


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the emulator makes its upload folder in, empty and this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_bad_spec_leaves_no_upload_folder(own_tmp: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-spec"):
        EmulatorServer(spec=own_tmp / "no-such-spec.yaml")
    assert list(own_tmp.iterdir()) == []


def test_a_failed_start_stops_its_thread_and_leaves_no_upload_folder(
    own_tmp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Why it did not start is in the exception's message (not only in uvicorn's log, which it is taken out of)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = EmulatorServer(port=port)
        assert len(list(own_tmp.iterdir())) == 1
        with pytest.raises(RuntimeError) as caught:
            server.start()
    assert str(caught.value) == (
        f"the emulator did not start on 127.0.0.1:{port}: [Errno 98] error while attempting to bind on address "
        f"('127.0.0.1', {port}): address already in use"
    )
    assert "address already in use" not in capfd.readouterr().err
    assert server._thread is None
    assert "dify-emulator" not in [t.name for t in threading.enumerate()]
    assert list(own_tmp.iterdir()) == []


def test_a_port_out_of_range_is_said_by_start_not_by_a_thread_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    server = EmulatorServer(port=70000)
    with pytest.raises(RuntimeError) as caught:
        server.start()
    # the OverflowError's words are the socket module's
    assert re.fullmatch(
        r"the emulator did not start on 127\.0\.0\.1:70000: OverflowError: .*0-65535\.", str(caught.value)
    )
    assert "Traceback" not in capfd.readouterr().err
    assert server._thread is None


def _in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_stop_ends_a_latency_pause_and_its_thread_promptly(spec_client: Callable[..., httpx.Client]) -> None:
    """A request pausing 30 s (``latency_ms``) is answered at once when the server stops; the thread is gone."""
    server = EmulatorServer(latency_ms=30_000).start()
    client = spec_client(server.base_url, headers={"Authorization": f"Bearer {server.token}"}, timeout=20)
    waiting, answers = _in_background(lambda: client.get(f"{P}/apps"))
    _until(lambda: server.store.in_flight == 1, "the request never reached the emulator")
    emulator_thread = server._thread
    assert emulator_thread is not None
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3  # was 10 s, and the thread left running
    assert not emulator_thread.is_alive()
    assert not Path(server.upload_dir).exists()
    waiting.join(5)
    assert [a.status_code for a in answers] == [200]  # answered, not cut off


class _Hanging:
    """An app whose ``/hang`` never answers: ``block=True`` blocks its event loop, else it awaits forever."""

    def __init__(self, block: bool) -> None:
        self.block = block
        self.entered = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.entered.set()
        if self.block:
            self.release.wait(30)  # the loop itself stops here
        else:
            await asyncio.Event().wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_stop_cancels_a_request_that_outlasts_the_grace() -> None:
    hanging = _Hanging(block=False)
    server = EmulatorServer()
    server.app = hanging
    server.start()
    _in_background(lambda: httpx.get(f"{server.base_url}/hang", timeout=20))
    assert hanging.entered.wait(10)
    emulator_thread = server._thread
    assert emulator_thread is not None
    started = time.monotonic()
    server.stop()
    assert SHUTDOWN_GRACE <= time.monotonic() - started < 3
    assert not emulator_thread.is_alive()


def test_stop_says_so_when_the_thread_does_not_stop_and_can_be_called_again() -> None:
    hanging = _Hanging(block=True)
    server = EmulatorServer()
    server.app = hanging
    server.start()
    _in_background(lambda: httpx.get(f"{server.base_url}/hang", timeout=20))
    assert hanging.entered.wait(10)
    emulator_thread = server._thread
    assert emulator_thread is not None
    try:
        with pytest.raises(RuntimeError) as caught:
            server.stop(timeout=0.3)
        assert str(caught.value) == (
            f"the emulator on {server.base_url} did not stop within 0.3 s: its thread 'dify-emulator' still runs "
            f"(a request handler blocking the event loop?); its upload folder {server.upload_dir} is kept"
        )
        assert emulator_thread.is_alive() and Path(server.upload_dir).is_dir()
    finally:
        hanging.release.set()
    server.stop()
    assert not emulator_thread.is_alive()
    assert not Path(server.upload_dir).exists()


def test_a_second_start_is_refused_and_touches_nothing() -> None:
    """It used to start a second thread, fail on the taken port, and stop(): the first server's folder
    was removed and its thread orphaned."""
    server = EmulatorServer().start()
    first_thread, folder = server._thread, server.upload_dir
    try:
        with pytest.raises(RuntimeError) as caught:
            server.start()
        assert str(caught.value) == (
            f"the emulator on {server.base_url} is already started: stop() it before starting it again"
        )
        assert server._thread is first_thread and os.path.isdir(folder)
        answer = httpx.get(f"{server.base_url}{P}/apps", headers={"Authorization": f"Bearer {server.token}"})
        assert answer.status_code == 200
    finally:
        server.stop()
    assert first_thread is not None and not first_thread.is_alive()
    assert "dify-emulator" not in [t.name for t in threading.enumerate()]
    assert not os.path.isdir(folder)


def test_a_stopped_emulator_starts_again_whole(spec_client: Callable[..., httpx.Client]) -> None:
    """Same port and state; latency pauses apply again (stop() ended them for good) and uploads work (stop()
    removed the upload folder); the new folder goes at the next stop()."""
    server = EmulatorServer(indexing_seconds=0).start()
    port, first_folder = server.port, server.upload_dir
    client = spec_client(f"{server.base_url}{P}", headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
    dataset = client.post("/datasets", json={"name": "kept"}).json()
    server.stop()
    assert not os.path.isdir(first_folder)
    server.start()
    try:
        assert server.port == port
        assert os.path.isdir(server.upload_dir) and server.upload_dir != first_folder
        upload = client.post(f"/datasets/{dataset['id']}/documents/upload", files={"file": ("a.txt", b"hello")})
        assert upload.status_code == 201, upload.text
        server.configure(latency_ms=300)
        started = time.monotonic()
        assert client.get("/datasets").json()["total"] == 1
        assert time.monotonic() - started >= 0.3
    finally:
        server.stop()
    assert not os.path.isdir(server.upload_dir)
