"""One command per operation, built at run time from the client's namespaces.

The namespaces are generated from the spec, so their method names, typed parameters and
docstrings already say everything a command needs: ``dify-mgmt <namespace> <method>`` in
kebab-case, path parameters as arguments, the rest as options, enums as choices, objects as
JSON, pagers with ``--all``. A new operation in the spec becomes a command on ``make generate``.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints
from uuid import UUID

import attrs
import typer
from rich.markup import escape

from .._client import DifyManagementClient
from .._core import CallExtras
from .._pagination import AsyncPager
from .._resources import Namespaces
from .._uploads import FileInput
from ._app import run, settings
from ._output import plain

__all__ = ["REVEALS_SECRET", "Operation", "add_operation_commands", "json_object", "kebab", "operations"]

REVEALS_SECRET: frozenset[tuple[str, str]] = frozenset({("api_keys", "create"), ("apps", "reset_api_keys")})
"""Commands whose answer is a new secret shown once (a new key's token, an app's new api_secret): printed in full,
and their help says so. Hidden there, the answer's only copy would be lost."""

PER_CALL_OPTIONS: frozenset[str] = frozenset(inspect.signature(CallExtras.of).parameters)
"""The SDK's per-call keywords (timeout, extra headers/query/body): not commands' options (the CLI has --timeout)."""

REVEAL_NOTE = "The new secret is printed in full, this once only; commands that do not make one hide secrets."


def kebab(name: str) -> str:
    return name.replace("_", "-")


@dataclass
class Param:
    """One parameter of an operation, as a command sees it."""

    name: str
    positional: bool
    required: bool
    kind: str  # str | int | float | bool | choice | json | file | list
    choices: list[str] = field(default_factory=list)
    help: str = ""


@dataclass
class Operation:
    namespace: str
    method: str
    summary: str
    description: str
    params: list[Param]
    paged: bool

    @property
    def command(self) -> str:
        return f"{kebab(self.namespace)} {kebab(self.method)}"


def _doc_parts(doc: str) -> tuple[str, str, dict[str, str]]:
    """(summary, description, {arg: help}) from a generated Google-style docstring."""
    text = inspect.cleandoc(doc)
    head, _, args_block = text.partition("\nArgs:\n")
    paragraphs = [p.strip() for p in head.split("\n\n") if p.strip()]
    summary = re.sub(r"``([^`]*)``", r"\1", paragraphs[0]) if paragraphs else ""
    description = " ".join(p.replace("\n", " ") for p in paragraphs[1:2])
    helps: dict[str, str] = {}
    current = ""
    for line in args_block.split("\n\n")[0].splitlines():
        match = re.match(r"^\s{4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            helps[current] = match.group(2).strip()
        elif current and line.startswith("        "):
            helps[current] += " " + line.strip()
    return summary, description, helps


def _members(hint: Any) -> list[Any]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        return [m for m in get_args(hint) if m is not type(None)]
    return [hint]


def _kind(hint: Any) -> tuple[str, list[str]]:
    """The command-line kind of a parameter's type; raises ``TypeError`` for a type no command can take."""
    if hint == FileInput:
        return "file", []
    members = _members(hint)
    enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
    if enums:
        return "choice", [str(e.value) for e in enums[0]]
    if any(attrs.has(m) or get_origin(m) in (collections.abc.Mapping, dict) or m is dict for m in members):
        return "json", []
    for plain_type, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (UUID, "str")):
        if plain_type in members:
            return kind, []
    if any(get_origin(m) in (collections.abc.Iterable, collections.abc.Sequence, list) for m in members):
        return "list", []
    raise TypeError(f"no command-line form for the type {hint!r}")


def _is_callback(hint: Any) -> bool:
    return any(get_origin(m) is collections.abc.Callable for m in _members(hint))


def _operation(namespace: str, method: str, function: Callable[..., Any]) -> Operation:
    hints = get_type_hints(function)
    summary, description, helps = _doc_parts(function.__doc__ or "")
    params: list[Param] = []
    for p in list(inspect.signature(function).parameters.values())[1:]:
        hint = hints[p.name]
        if p.name in PER_CALL_OPTIONS and function.__module__ == Namespaces.__module__:
            continue  # a generated method's per-call keyword
        if _is_callback(hint):
            continue  # on_progress and the like: the CLI has its own progress display
        kind, choices = _kind(hint)
        params.append(
            Param(
                name=p.name,
                positional=p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD,
                required=p.default is inspect.Parameter.empty,
                kind=kind,
                choices=choices,
                help=helps.get(p.name, ""),
            )
        )
    returns = hints.get("return")
    paged = get_origin(returns) is AsyncPager or returns is AsyncPager
    return Operation(namespace, method, summary, description, params, paged)


def operations() -> Iterator[Operation]:
    """Every public method of every namespace of the client, in the spec's order."""
    namespaces = get_type_hints(DifyManagementClient)
    for name in Namespaces.__annotations__:
        resource = namespaces[name]
        methods: dict[str, Callable[..., Any]] = {}
        for base in reversed(resource.__mro__):  # generated operations first, then hand-written helpers
            if base.__module__.startswith("dify_mgmt_async."):
                methods.update({m: f for m, f in vars(base).items() if not m.startswith("_") and callable(f)})
        for method, function in methods.items():
            yield _operation(name, method, function)


def json_object(name: str, raw: str) -> dict[str, Any]:
    """An option's JSON object, or a usage error naming the option."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON ({exc.msg})", param_hint=f"--{kebab(name)}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object such as '{\"key\": 1}'", param_hint=f"--{kebab(name)}")
    return value


_PLAIN_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "json": str}


def _signature(op: Operation) -> inspect.Signature:
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    for p in op.params:
        help_text = escape(p.help)
        info: Any
        annotation: Any
        if p.kind == "file":
            annotation = Path
            info = typer.Argument(
                metavar=p.name.upper(),
                exists=True,
                dir_okay=False,
                readable=True,
                help=help_text or "A file to upload.",
            )
        elif p.positional and p.kind == "list":
            annotation = list[str]
            info = typer.Argument(metavar=p.name.upper() + "...", help=help_text, show_default=False)
        elif p.positional:
            annotation = str
            info = typer.Argument(metavar=p.name.upper(), help=help_text, show_default=False)
        elif p.kind == "list":
            annotation = list[str] | None
            info = typer.Option(f"--{kebab(p.name)}", help=help_text + " (repeat for several)", show_default=False)
        elif p.kind == "choice":
            annotation = Literal.__getitem__(tuple(p.choices))
            annotation = annotation | None
            info = typer.Option(f"--{kebab(p.name)}", metavar="|".join(p.choices), help=help_text)
        else:
            annotation = _PLAIN_TYPES[p.kind] | None
            extra = " (JSON object)" if p.kind == "json" else ""
            info = typer.Option(f"--{kebab(p.name)}", help=help_text + extra, show_default=False)
        default = inspect.Parameter.empty if p.required else None
        params.append(
            inspect.Parameter(
                p.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info]
            )
        )
    if op.paged:
        info = typer.Option("--all", help="Follow every page and stream the items (NDJSON unless --output table).")
        params.append(
            inspect.Parameter(
                "all_pages", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[bool, info]
            )
        )
    return inspect.Signature(params)


def _callback(op: Operation) -> Callable[..., None]:
    reveal = (op.namespace, op.method) in REVEALS_SECRET

    def command(ctx: typer.Context, **values: Any) -> None:
        all_pages = bool(values.pop("all_pages", False))
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p in op.params:
            value = values.get(p.name)
            if value is None or (p.kind == "list" and not value):
                continue  # left out: not sent
            if p.kind == "json":
                value = json_object(p.name, value)
            if p.positional:
                args.append(value)
            else:
                kwargs[p.name] = value
        printer = settings(ctx).printer(reveal=reveal)

        async def call(dify: DifyManagementClient) -> None:
            bound = getattr(getattr(dify, op.namespace), op.method)
            result = bound(*args, **kwargs)
            if all_pages and printer.mode == "table":
                printer.table([printer_item async for printer_item in _plain_items(result, reveal)])
            elif all_pages:
                async for item in result:
                    printer.item(item)
            else:
                printer.result(await result)

        run(ctx, call)

    command.__signature__ = _signature(op)  # type: ignore[attr-defined]
    command.__name__ = op.method
    return command


async def _plain_items(pager: AsyncPager[Any, Any], reveal: bool) -> AsyncIterator[Any]:
    async for item in pager:
        yield plain(item, reveal=reveal)


def add_operation_commands(app: typer.Typer, extra: dict[str, list[Callable[[typer.Typer], None]]]) -> None:
    """A sub-command group per namespace with a command per operation; ``extra`` adds hand-written ones."""
    groups: dict[str, typer.Typer] = {}
    for op in operations():
        group = groups.get(op.namespace)
        if group is None:
            resource = get_type_hints(DifyManagementClient)[op.namespace]
            generated = next(c for c in resource.__mro__ if c.__module__ == Namespaces.__module__)
            about = (generated.__doc__ or "").split(":", 1)[-1].strip()
            group = groups[op.namespace] = typer.Typer(help=escape(about), no_args_is_help=True)
            app.add_typer(group, name=kebab(op.namespace))
        help_text = op.summary + (f"\n\n{op.description}" if op.description else "")
        if (op.namespace, op.method) in REVEALS_SECRET:
            help_text += f"\n\n{REVEAL_NOTE}"
        group.command(kebab(op.method), help=escape(help_text))(_callback(op))
    for namespace, adders in extra.items():
        for add in adders:
            add(groups[namespace])
