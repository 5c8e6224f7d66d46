"""What the CLI prints: models as JSON, NDJSON or a table, with secret fields hidden.

A secret field is one the generator marked ``repr=False`` (the spec's ``format: password``), so a
new secret in the spec is hidden here too without a list of names to keep up to date.

In a table every value and key goes to rich as ``rich.text.Text``, never as a plain ``str``, which rich
would read as markup (and emoji codes): a name such as ``[/red]`` would crash the command, and
``[bold]x[/bold]`` or ``:smile:`` would be shown as something else than what the server holds.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any, Literal

import attrs
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._generated.types import Unset

__all__ = ["HIDDEN", "OutputMode", "Printer", "plain"]

OutputMode = Literal["table", "json", "ndjson"]
HIDDEN = "<hidden>"


def _wire_name(field: attrs.Attribute[Any], wire: Mapping[str, Any]) -> str:
    # openapi-python-client renames Python keywords and builtins (`type` -> `type_`); the wire name has no underscore.
    return field.name if field.name in wire or not field.name.endswith("_") else field.name[:-1]


def plain(value: Any, *, reveal: bool = False) -> Any:
    """``value`` as JSON-ready data with wire names; secret fields become ``<hidden>`` unless ``reveal``."""
    if attrs.has(type(value)):
        wire: dict[str, Any] = value.to_dict()
        for field in attrs.fields(type(value)):
            if field.name == "additional_properties":
                continue
            key = _wire_name(field, wire)
            if key not in wire:
                continue
            inner = getattr(value, field.name)
            if field.repr is False and not reveal:
                wire[key] = HIDDEN
            elif attrs.has(type(inner)) or isinstance(inner, list):
                wire[key] = plain(inner, reveal=reveal)
        return wire
    if isinstance(value, list | tuple):
        return [plain(item, reveal=reveal) for item in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v, reveal=reveal) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Unset):
        return None
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def verbatim(text: str, style: str = "") -> Text:
    """Server (or file system) text as a table shows it: ``Text``, not parsed for markup or emoji codes, with its
    control characters written as ``\\xNN``, so an escape sequence in a name cannot drive the terminal."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text), style=style)


def _cell(value: Any) -> Text:
    """A value as a table shows it (``verbatim``)."""
    if value is None:
        return Text("")
    if isinstance(value, dict | list):
        return verbatim(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return verbatim(str(value))


class Printer:
    """Writes results to stdout in the chosen mode (``table`` on a TTY, JSON otherwise, unless told)."""

    def __init__(self, mode: OutputMode | None, *, reveal: bool = False) -> None:
        self.mode: OutputMode = mode or ("table" if sys.stdout.isatty() else "json")
        self.reveal = reveal
        self.console = Console(soft_wrap=True)

    def _json(self, data: Any, *, indent: int | None) -> None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")
        sys.stdout.flush()

    def result(self, value: Any) -> None:
        """One result: a model, a page (``data`` + paging fields) or ``None`` (a delete)."""
        data = {"result": "success"} if value is None else plain(value, reveal=self.reveal)
        if self.mode == "json":
            self._json(data, indent=2)
        elif self.mode == "ndjson":
            self._json(data, indent=None)
        elif isinstance(data, dict) and isinstance(data.get("data"), list):
            self.table(data["data"])
            rest = {k: v for k, v in data.items() if k != "data"}
            if rest:
                paging = "  ".join(f"{k}: {_cell(v).plain}" for k, v in rest.items())
                self.console.print(verbatim(paging, style="dim"))
        elif isinstance(data, list):
            self.table(data)  # a list answer (wait-for-indexing's documents): a row each, as a page's items
        else:
            self.record(data)

    def item(self, value: Any) -> None:
        """One item of a stream (``--all``): one NDJSON line now (in a table mode, callers collect items)."""
        self._json(plain(value, reveal=self.reveal), indent=None)

    def record(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.console.print(_cell(data), markup=False, emoji=False, highlight=False)
            return
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in data.items():
            table.add_row(_cell(key), _cell(value))
        self.console.print(table)

    def table(self, rows: list[Any]) -> None:
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row if isinstance(row, dict) else ["value"]))
        table = Table()
        for column in columns:
            table.add_column(_cell(column))
        for row in rows:
            values = row if isinstance(row, dict) else {"value": row}
            table.add_row(*(_cell(values.get(c)) for c in columns))
        self.console.print(table)
