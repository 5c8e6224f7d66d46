"""Assemble the ``dify-mgmt`` command tree: the root, the generated operation commands, the hand-written ones."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from ._app import root
from ._commands import add_operation_commands
from ._emulator import add_emulator_command
from ._upload import add_upload_command

__all__ = ["app", "main"]

app: typer.Typer = root
add_operation_commands(app, extra={"datasets": [add_upload_command]})
add_emulator_command(app)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: exit codes 0 ok, 1 API error, 2 usage, 3 bulk items failed, 130 Ctrl-C."""
    app(args=list(argv) if argv is not None else None, prog_name="dify-mgmt")
