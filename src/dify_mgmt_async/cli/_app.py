"""The ``dify-mgmt`` root: global options, running a call, turning errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, NoReturn

import anyio
import typer

from .._client import DifyManagementClient
from .._constants import DEFAULT_TIMEOUT, ENV_BASE_URL, ENV_TOKEN
from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DifyError,
    InvalidArgumentError,
)
from ._output import OutputMode, Printer

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "Settings",
    "error_line",
    "fail",
    "root",
    "run",
    "settings",
]

EXIT_API_ERROR = 1
EXIT_USAGE = 2  # click's own code for usage errors; the SDK's InvalidArgumentError and ConfigurationError too
EXIT_PARTIAL = 3  # a bulk command finished with some items failed
EXIT_INTERRUPTED = 130

LOGGER = "dify_mgmt_async"


@dataclass
class Settings:
    """The global options, kept on the click context for the commands below the root."""

    base_url: str | None
    token: str | None
    output: OutputMode | None
    timeout: float | None
    max_concurrency: int
    verbose: bool

    def client(self) -> DifyManagementClient:
        return DifyManagementClient(
            self.base_url,
            self.token,
            max_concurrency=self.max_concurrency,
            timeout=DEFAULT_TIMEOUT if self.timeout is None else self.timeout,
        )

    def printer(self, *, reveal: bool = False) -> Printer:
        return Printer(self.output, reveal=reveal)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings), "the root callback sets the settings"
    return obj


def error_line(exc: BaseException) -> str:
    """The one line on stderr for an error: ``error_code: message (HTTP status)``."""
    if isinstance(exc, APIStatusError):
        return f"{exc.error_code or 'http_error'}: {exc.message} (HTTP {exc.status_code})"
    if isinstance(exc, APIResponseValidationError):
        return f"invalid_response: {exc.message} (HTTP {exc.status_code})"
    if isinstance(exc, APITimeoutError):
        return f"timeout: {exc.message}"
    if isinstance(exc, APIConnectionError):
        return f"connection_error: {exc.message}"
    if isinstance(exc, InvalidArgumentError):
        return f"invalid_argument: {exc}"
    if isinstance(exc, ConfigurationError):
        return f"configuration_error: {exc}"
    if isinstance(exc, TimeoutError):
        return f"timeout: {exc}"
    return f"{type(exc).__name__}: {exc}"


def exit_code(exc: BaseException) -> int:
    return EXIT_USAGE if isinstance(exc, InvalidArgumentError | ConfigurationError) else EXIT_API_ERROR


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _verbose_logging(on: bool) -> Iterator[None]:
    """``-v``: the SDK's DEBUG log on stderr for the command's duration (then the handler is taken away)."""
    if not on:
        yield
        return
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def run(ctx: typer.Context, body: Callable[[DifyManagementClient], Awaitable[int | None]]) -> None:
    """Run ``body(dify)`` with a client built from the global options; errors become one line and an exit code."""
    config = settings(ctx)

    async def main() -> int | None:
        async with config.client() as dify:
            return await body(dify)

    with _verbose_logging(config.verbose):
        try:
            code = anyio.run(main)
        except (DifyError, TimeoutError) as exc:
            if config.verbose:
                traceback.print_exception(exc, file=sys.stderr)
            fail(error_line(exc), exit_code(exc))
    if code:
        raise typer.Exit(code)


root = typer.Typer(
    name="dify-mgmt",
    help="Operate a Dify workspace through the Management API: one command per operation, and bulk uploads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


@root.callback()
def _global_options(
    ctx: typer.Context,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", envvar=ENV_BASE_URL, help="The Dify server, e.g. https://dify.example.com."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar=ENV_TOKEN, show_default=False, help="A Management API token; never printed."),
    ] = None,
    output: Annotated[
        OutputMode | None,
        typer.Option(
            "--output",
            "-o",
            metavar="table|json|ndjson",
            help="How results are printed (default: a table on a terminal, JSON otherwise).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Deadline in seconds for each call, retries included."),
    ] = None,
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", min=1, help="Requests in flight at most, across the command.")
    ] = 64,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log the SDK's requests and retries; tracebacks on errors.")
    ] = False,
) -> None:
    ctx.obj = Settings(
        base_url=base_url,
        token=token,
        output=output,
        timeout=timeout,
        max_concurrency=max_concurrency,
        verbose=verbose,
    )
