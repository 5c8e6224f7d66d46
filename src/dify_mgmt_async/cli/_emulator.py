"""``dify-mgmt emulator ...``: the emulator's own command line, passed through untouched.

Every option is parsed by the emulator's argparse parser, so options added there appear here
with no change (``dify-mgmt emulator --help`` prints that parser's help).
"""

from __future__ import annotations

import typer

from ._app import fail

__all__ = ["add_emulator_command"]


def add_emulator_command(app: typer.Typer) -> None:
    @app.command(
        "emulator",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
        add_help_option=False,
    )
    def emulator(ctx: typer.Context) -> None:
        """Start the local emulator of the Management API (its options: dify-mgmt emulator --help)."""
        try:
            from ..emulator.server import main as emulator_main
        except ImportError as exc:  # the [emulator] extra is not installed
            fail(f"missing_dependency: the emulator needs 'dify-mgmt-async[emulator]' ({exc.name} not found)")
        try:
            emulator_main(list(ctx.args))
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
