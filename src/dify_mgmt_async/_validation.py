"""Argument checks, run by every generated method before anything is sent.

The namespace layer (``_resources.py``) calls one checker per argument with the constraints the
spec declares (lengths, bounds, patterns, enums, closed objects). Each checker returns the value
in the form the generated code expects (``UNSET`` for "not given") or raises
``InvalidArgumentError`` naming the argument.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar, overload

from ._errors import InvalidArgumentError
from ._generated.types import UNSET, Unset

__all__ = ["FieldRules", "array", "boolean", "choice", "ident", "integer", "model", "number", "text"]

FieldRules = Mapping[str, Callable[..., object]]
E = TypeVar("E", bound=enum.Enum)


class _Model(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=_Model)


def _fail(name: str, problem: str, value: object) -> InvalidArgumentError:
    return InvalidArgumentError(f"{name}: {problem} (got {value!r:.80})")


def callback(
    name: str, value: object, *, called_as: str, when: str, error: type[Exception] = InvalidArgumentError
) -> None:
    """A hook the SDK calls (never awaits) ``when``, checked before anything runs: a non-callable would fail only
    midway, after requests went out, and an async function's coroutine would be dropped, the hook never run."""
    if value is None:
        return
    if not callable(value):
        raise error(f"{name}: must be a function called as {called_as} (got {value!r:.80})")
    if inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(
        getattr(value, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    ):
        raise error(
            f"{name}: must be a plain function; it is called, not awaited, {when}, so an async function would "
            f"never run (got {value!r:.80})"
        )


def _missing(name: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{name}: is required")


@overload
def text(
    name: str,
    value: object,
    required: Literal[True],
    *,
    min_length: int | None = ...,
    max_length: int | None = ...,
    pattern: str | None = ...,
) -> str: ...
@overload
def text(
    name: str,
    value: object,
    required: bool = ...,
    *,
    min_length: int | None = ...,
    max_length: int | None = ...,
    pattern: str | None = ...,
) -> str | Unset: ...
def text(
    name: str,
    value: object,
    required: bool = False,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
) -> str | Unset:
    """A string within the spec's length and pattern."""
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if not isinstance(value, str):
        raise _fail(name, "must be a string", value)
    _encodable(name, value)
    if min_length is not None and len(value) < min_length:
        raise _fail(
            name, "must not be empty" if min_length == 1 else f"must be at least {min_length} characters", value
        )
    if max_length is not None and len(value) > max_length:
        raise _fail(name, f"must be at most {max_length} characters", value)
    if pattern is not None and _compiled(pattern).search(value) is None:
        raise _fail(name, f"must match {pattern}", value)
    return value


@overload
def integer(
    name: str, value: object, required: Literal[True], *, minimum: int | None = ..., maximum: int | None = ...
) -> int: ...
@overload
def integer(
    name: str, value: object, required: bool = ..., *, minimum: int | None = ..., maximum: int | None = ...
) -> int | Unset: ...
def integer(
    name: str, value: object, required: bool = False, *, minimum: int | None = None, maximum: int | None = None
) -> int | Unset:
    """An integer (not a bool) within the spec's bounds."""
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "must be an integer", value)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise _fail(name, f"must be between {minimum} and {maximum}", value)
    if minimum is not None and value < minimum:
        raise _fail(name, f"must be at least {minimum}", value)
    if maximum is not None and value > maximum:
        raise _fail(name, f"must be at most {maximum}", value)
    return value


def future_timestamp(name: str, value: object, required: bool = False) -> float | Unset:
    """Unix seconds from a number or a ``datetime`` (naive: local time), refused if not in the future.

    An expiry in the past would make the server create something already dead (or refuse it after
    the call was spent), so it is caught here, before anything is sent.
    """
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, datetime):
        seconds: float = int(value.timestamp())
    elif isinstance(value, int | float) and not isinstance(value, bool) and value == value and abs(value) != _INF:
        seconds = value
    else:
        raise _fail(name, "must be Unix seconds (a number) or a datetime", value)
    if seconds <= time.time():
        when = datetime.fromtimestamp(max(int(seconds), 0), UTC).isoformat()
        raise _fail(name, f"must be in the future, and {when} is not", value)
    return seconds


@overload
def number(
    name: str, value: object, required: Literal[True], *, minimum: float | None = ..., maximum: float | None = ...
) -> float: ...
@overload
def number(
    name: str, value: object, required: bool = ..., *, minimum: float | None = ..., maximum: float | None = ...
) -> float | Unset: ...
def number(
    name: str, value: object, required: bool = False, *, minimum: float | None = None, maximum: float | None = None
) -> float | Unset:
    """A finite int or float (not a bool) within the spec's bounds."""
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value in (_INF, -_INF):
        raise _fail(name, "must be a finite number", value)
    if minimum is not None and value < minimum:
        raise _fail(name, f"must be at least {minimum}", value)
    if maximum is not None and value > maximum:
        raise _fail(name, f"must be at most {maximum}", value)
    return value


_INF = float("inf")


def array(name: str, value: object, required: bool = False, *, item: Callable[..., object]) -> list[Any] | Unset:
    """A list or tuple (not a string) whose every item passes ``item``; returned as a list."""
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise _fail(name, "must be a list", value)
    return [item(f"{name}[{i}]", each, True) for i, each in enumerate(value)]


@overload
def boolean(name: str, value: object, required: Literal[True]) -> bool: ...
@overload
def boolean(name: str, value: object, required: bool = ...) -> bool | Unset: ...
def boolean(name: str, value: object, required: bool = False) -> bool | Unset:
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if not isinstance(value, bool):
        raise _fail(name, "must be a bool", value)
    return value


def ident(name: str, value: object) -> str:
    """A path segment such as an id: a ``str`` or ``uuid.UUID``, not empty, not ``.`` or ``..``.

    Not checked to be a UUID (the contract's own example ids aren't). ``..`` is refused because
    URL normalisation would turn ``DELETE .../documents/..`` into a delete of the dataset itself.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or value is UNSET:
        raise _missing(name)
    if not isinstance(value, str):
        raise _fail(name, "must be a str or uuid.UUID", value)
    if not value.strip():
        raise _fail(name, "must not be empty", value)
    if value.strip() in (".", ".."):
        raise _fail(name, "must not be '.' or '..'", value)
    _encodable(name, value)
    return value


def _encodable(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(name, "must be valid Unicode (it holds a lone surrogate)", value) from None


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A spec pattern with JSON Schema's ``$`` (end of string, not before a final newline)."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern)


@overload
def choice(name: str, value: object, required: Literal[True], *, enum: type[E]) -> E: ...
@overload
def choice(name: str, value: object, required: bool = ..., *, enum: type[E]) -> E | Unset: ...
def choice(name: str, value: object, required: bool = False, *, enum: type[E]) -> E | Unset:
    """A member of ``enum``, given as the member or its string value."""
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise _fail(name, f"must be one of {allowed}", value) from None


@overload
def model(name: str, value: object, required: Literal[True], *, model: type[M], fields: FieldRules | None) -> M: ...
@overload
def model(
    name: str, value: object, required: bool = ..., *, model: type[M], fields: FieldRules | None
) -> M | Unset: ...
def model(name: str, value: object, required: bool = False, *, model: type[M], fields: FieldRules | None) -> M | Unset:
    """An object: an instance of the generated ``model`` or a mapping.

    ``fields`` (for closed objects) checks each key and refuses unknown ones, so a typo such
    as ``chunk_sise`` is an error instead of being silently dropped.
    """
    if value is None or value is UNSET:
        if required:
            raise _missing(name)
        return UNSET
    if isinstance(value, model):
        data: Mapping[str, Any] = value.to_dict()
    elif isinstance(value, Mapping):
        data = value
    else:
        raise _fail(name, f"must be a {model.__name__} or a mapping", value)
    if not all(isinstance(key, str) for key in data):
        raise _fail(name, "keys must be strings", value)
    if fields is not None:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise _fail(name, f"unknown field(s) {', '.join(unknown)}; known: {', '.join(fields)}", value)
        for key, item in data.items():
            fields[key](f"{name}.{key}", item, True)
    else:  # free-form: anything JSON can carry, and nothing else
        try:
            text = json.dumps(data, allow_nan=False, ensure_ascii=False)  # as httpx will send it: not \u-escaped
        except (TypeError, ValueError, RecursionError) as exc:
            raise _fail(
                name, f"must hold only JSON values (strings, numbers, bools, None, lists, dicts): {exc}", value
            ) from None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(name, "must be valid Unicode (it holds a lone surrogate)", value) from None
    if isinstance(value, model):
        return value
    from_dict = getattr(model, "from_dict")  # noqa: B009 - every generated model has it; Protocol can't say classmethod
    try:
        parsed: M = from_dict(dict(data))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(name, f"is not a valid {model.__name__}: {exc}", value) from None
    return parsed
