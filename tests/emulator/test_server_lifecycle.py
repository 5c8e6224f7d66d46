"""``EmulatorServer``'s settings and life: its arguments are checked as ``configure()`` checks them, ``stop()``
ends requests still in flight and its thread promptly or says it could not, and nothing is left in the
temporary folder when it does not get going."""

from __future__ import annotations

import asyncio
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


def test_a_failed_start_stops_its_thread_and_leaves_no_upload_folder(own_tmp: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmulatorServer(port=taken.getsockname()[1])
        assert len(list(own_tmp.iterdir())) == 1
        not_started = r"^the emulator did not start on 127\.0\.0\.1:\d+ \(its error is logged\)$"
        with pytest.raises(RuntimeError, match=not_started):
            server.start()
    assert server._thread is None
    assert "dify-emulator" not in [t.name for t in threading.enumerate()]
    assert list(own_tmp.iterdir()) == []


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
