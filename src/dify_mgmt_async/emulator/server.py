"""Run the emulator: ``EmulatorServer`` (a uvicorn server in a background thread) and the command line."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import uvicorn

from .app import CONTROL_HEADER, build_app, end_pauses, reopen
from .limiters import FIELD_STYLES, HINT_STYLES, LIMITERS
from .store import EmulatorConfig, SettingError, Store

__all__ = ["SHUTDOWN_GRACE", "EmulatorServer", "main", "parse_args"]

PROG = "python -m dify_mgmt_async.emulator"

SHUTDOWN_GRACE = 0.25
"""Seconds ``stop()`` gives requests still in flight before cancelling them (a ``latency_ms`` pause ends at once)."""


class EmulatorServer:
    """The emulator on ``host:port`` (0 picks a free port), served from a daemon thread.

    ``with EmulatorServer(rate=5) as emu:`` then ``emu.base_url``, ``emu.token``, ``emu.store``
    (counters, uploads), ``emu.configure(fail_rate=0.1)``. ``spec=`` serves another OpenAPI document
    (an edited copy of the package's): its routes and request checks follow it.

    A stopped emulator may be started again (``start()`` after ``stop()``): on the same port, with
    the same state and settings, as a real server restarting; uploads go to a new upload folder.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: EmulatorConfig | None = None,
        *,
        spec: str | Path | None = None,
        **settings: Any,
    ):
        self.config = config or EmulatorConfig()
        self.config.update(settings, at_start=True)  # configure()'s checks: a bad one raises SettingError
        self.store = Store(self.config)
        self.upload_dir = tempfile.mkdtemp(prefix="dify-emulator-")
        try:
            self.app = build_app(store=self.store, upload_dir=self.upload_dir, spec=spec)
        except BaseException:
            shutil.rmtree(self.upload_dir, ignore_errors=True)
            raise
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False  # stop() ran: the upload folder is gone and the app's pauses are ended

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def control_secret(self) -> str:
        return self.config.control_secret

    @property
    def control_headers(self) -> dict[str, str]:
        return {CONTROL_HEADER: self.config.control_secret}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def configure(self, **changes: Any) -> None:
        """Change fault/rate/indexing settings at run time (as ``POST /_emulator/config`` does)."""
        self.config.update(changes)

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    def _uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
            backlog=4096,
            timeout_keep_alive=30,
            # uvicorn hints an int, but it is asyncio.wait_for's timeout: a fraction of a second works
            timeout_graceful_shutdown=SHUTDOWN_GRACE,  # type: ignore[arg-type]
        )

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Serve from a daemon thread named ``dify-emulator``; on failure, stopped and its upload folder removed.

        Refused (``RuntimeError``, nothing touched) while it is started: ``stop()`` it first. Why a start
        failed (a port in use) is in the ``RuntimeError``'s message rather than uvicorn's log.
        """
        if self._thread is not None:
            raise RuntimeError(
                f"the emulator on {self.base_url} is already started: stop() it before starting it again"
            )
        if self._stopped:  # started again: a new upload folder, and latency pauses apply again
            self.upload_dir = tempfile.mkdtemp(prefix="dify-emulator-")
            reopen(self.app, self.upload_dir)
            self._stopped = False
        server = self._server = uvicorn.Server(self._uvicorn_config())
        failures: list[str] = []
        thread = self._thread = threading.Thread(
            target=_run, args=(server, failures), name="dify-emulator", daemon=True
        )
        kept = _StartupErrors(thread, failures)
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addFilter(kept)
        deadline = time.monotonic() + timeout
        try:
            thread.start()
            while not server.started:
                if not thread.is_alive():
                    why = f": {failures[-1]}" if failures else " (its error is logged)"
                    raise RuntimeError(f"the emulator did not start on {self.host}:{self.port}{why}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start within {timeout:g} s")
                time.sleep(0.005)
        except BaseException:
            uvicorn_log.removeFilter(kept)
            self.stop()
            raise
        uvicorn_log.removeFilter(kept)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and remove the upload folder.

        Requests still in flight are answered without the rest of their ``latency_ms`` pause; any still
        running ``SHUTDOWN_GRACE`` seconds later (uvicorn's graceful shutdown) are cancelled. If the server
        thread still runs ``timeout`` seconds later (a handler blocking the event loop), this raises
        ``RuntimeError`` and keeps the folder; ``stop()`` may be called again.
        """
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            end_pauses(self.app)  # latency_ms pauses end now, so their requests end before the grace does
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(
                    f"the emulator on {self.base_url} did not stop within {timeout:g} s: its thread "
                    f"{thread.name!r} still runs (a request handler blocking the event loop?); "
                    f"its upload folder {self.upload_dir} is kept"
                )
            self._server = self._thread = None
        shutil.rmtree(self.upload_dir, ignore_errors=True)
        self._stopped = True

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _StartupErrors(logging.Filter):
    """Takes what uvicorn logs as an error from ``thread`` while it starts (why it could not: a port in use)
    out of the log and into ``failures``, for ``start()``'s exception to say."""

    def __init__(self, thread: threading.Thread, failures: list[str]) -> None:
        super().__init__()
        self.thread = thread
        self.failures = failures

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or record.thread != self.thread.ident:
            return True
        self.failures.append(record.getMessage())
        return False


def _run(server: uvicorn.Server, failures: list[str]) -> None:
    try:
        server.run()
    except SystemExit:  # uvicorn could not start (a port in use): it logged why, which start() took
        pass
    except Exception as exc:  # a port out of range (OverflowError): start() says so, not a thread's traceback
        failures.append(f"{type(exc).__name__}: {exc}")


class _FromEnv(str):
    """A flag's default read from its ``DIFY_EMULATOR_*`` variable. argparse converts a string default
    with the flag's ``type`` only when the flag is not given; a bad one is then reported naming the variable."""

    variable: str


def _env(name: str, default: str | None) -> str | None:
    value = os.environ.get("DIFY_EMULATOR_" + name)
    if value is None:
        return default
    text = _FromEnv(value)
    text.variable = "DIFY_EMULATOR_" + name
    return text


def _checked(convert: Callable[[str], Any], setting: str | None = None) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert``, then ``setting``'s own check (``configure()``'s), so a bad value
    is a usage error naming the flag (and the variable, for a default from one), not a traceback."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
            if setting is not None:
                EmulatorConfig().update({setting: value})
        except SettingError as exc:
            problem = str(exc).partition(": ")[2]  # its message names the setting: the flag is named instead
        except ValueError:
            problem = f"invalid {convert.__name__} value: {text!r}"  # argparse's own words
        else:
            return value
        if isinstance(text, _FromEnv):
            problem = f"{text.variable}: {problem}"
        raise argparse.ArgumentTypeError(problem)

    parse.__name__ = convert.__name__
    return parse


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise SettingError(f"port: must be between 0 and 65535 (got {port})")
    return port


_port.__name__ = "int"


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage error on one line (``prog: error: ...``, exit 2): the help is ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The flags, with their ``DIFY_EMULATOR_*`` defaults; a bad value (a flag's or a variable's, its type or
    what ``configure()`` allows) is a usage error: one line naming the flag (and the variable), exit 2."""
    p = _Parser(
        prog=PROG,
        description="A stateful local emulator of the Dify Management API. Every flag has a DIFY_EMULATOR_* env var "
        "(--max-upload-mb: DIFY_EMULATOR_MAX_UPLOAD_MB); a default shown below is the variable's value when set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )

    p.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to listen on")
    p.add_argument(
        "--port", type=_checked(_port), default=_env("PORT", "5001"), help="port to listen on; 0 picks a free one"
    )
    p.add_argument("--token", default=_env("TOKEN", ""), help="bootstrap token; empty: one is generated and printed")
    p.add_argument(
        "--control-secret", default=_env("CONTROL_SECRET", ""), help="secret of /_emulator/*; empty: generated"
    )
    p.add_argument(
        "--rate", type=_checked(float, "rate"), default=_env("RATE", "0"), help="requests/s per token (0: no limit)"
    )
    p.add_argument(
        "--burst", type=_checked(int, "burst"), default=_env("BURST", "10"), help="bucket size, or requests per window"
    )
    p.add_argument(
        "--limiter",
        type=_checked(str, "limiter"),
        choices=tuple(LIMITERS),
        default=_env("LIMITER", "token-bucket"),
        help="algorithm",
    )
    p.add_argument(
        "--retry-after",
        type=_checked(str, "retry_after"),
        choices=HINT_STYLES,
        default=_env("RETRY_AFTER", "ms"),
        help="how a 429 says when to retry",
    )
    p.add_argument(
        "--rate-limit-headers",
        type=_checked(str, "rate_limit_headers"),
        choices=FIELD_STYLES,
        default=_env("RATE_LIMIT_HEADERS", "none"),
        help="advertise the limit on every answer: the IETF draft's RateLimit/RateLimit-Policy, or X-RateLimit-*",
    )
    p.add_argument(
        "--fail-rate", type=_checked(float, "fail_rate"), default=_env("FAIL_RATE", "0"), help="probability of a 5xx"
    )
    p.add_argument(
        "--latency-ms", type=_checked(float, "latency_ms"), default=_env("LATENCY_MS", "0"), help="added latency"
    )
    p.add_argument(
        "--drop-rate",
        type=_checked(float, "drop_rate"),
        default=_env("DROP_RATE", "0"),
        help="probability of a dropped connection",
    )
    p.add_argument(
        "--indexing-seconds",
        type=_checked(float, "indexing_seconds"),
        default=_env("INDEXING_SECONDS", "2.0"),
        help="time a document takes from waiting to completed",
    )
    p.add_argument(
        "--indexing-fail-rate",
        type=_checked(float, "indexing_fail_rate"),
        default=_env("INDEXING_FAIL_RATE", "0"),
        help="probability that indexing ends in error",
    )
    p.add_argument(
        "--max-upload-mb",
        type=_checked(float, "max_upload_mb"),
        default=_env("MAX_UPLOAD_MB", "15.0"),
        help="larger uploads get 413",
    )
    p.add_argument(
        "--seed", type=_checked(int), default=_env("SEED", None), help="seed of the fault dice (none: random)"
    )
    p.add_argument(
        "--spec",
        default=_env("SPEC", "") or None,
        help="OpenAPI document whose routes and request checks to serve (default: the package's own)",
    )
    p.add_argument("--port-file", default=_env("PORT_FILE", ""), help="write 'base_url token secret' here once up")
    return p.parse_args(argv)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit: 2 for a bad setting (as argparse), 1 when the emulator could not start."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = EmulatorConfig(token=args.token, control_secret=args.control_secret, seed=args.seed)
    config.update(
        {
            "rate": args.rate,
            "burst": args.burst,
            "limiter": args.limiter,
            "retry_after": args.retry_after,
            "rate_limit_headers": args.rate_limit_headers,
            "fail_rate": args.fail_rate,
            "latency_ms": args.latency_ms,
            "drop_rate": args.drop_rate,
            "indexing_seconds": args.indexing_seconds,
            "indexing_fail_rate": args.indexing_fail_rate,
            "max_upload_mb": args.max_upload_mb,
        }
    )
    try:
        emulator = EmulatorServer(args.host, args.port, config, spec=args.spec)
    except Exception as exc:  # the spec: missing, not YAML, not OpenAPI, or a construct the emulator cannot check
        if args.spec is None:
            raise
        first = str(exc).strip().partition("\n")[0]
        _fail(f"argument --spec: {args.spec}: {type(exc).__name__}: {first}", 2)
    try:
        emulator.start()
    except RuntimeError as exc:  # a port in use, or an address that is not this host's
        _fail(str(exc), 1)
    print(f"Dify Management emulator on {emulator.base_url}", flush=True)
    print(f"  token:          {emulator.token}", flush=True)
    print(f"  control secret: {emulator.control_secret} (header {CONTROL_HEADER}, under /_emulator/)", flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(f"{emulator.base_url} {emulator.token} {emulator.control_secret}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    try:
        while emulator._thread is not None and emulator._thread.is_alive():
            emulator._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
