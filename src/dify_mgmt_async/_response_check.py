"""A 2xx JSON answer checked against the spec before the generated model is built from it.

The shapes come from the spec (``_shapes.py``, written by ``make generate``). A missing required
field, a JSON type other than the declared one, or a non-object where an object is declared
raises ``ShapeMismatch`` with the field's path (``data[3].created_at``). Fields the spec does not
declare are left alone (the model keeps them), and an enum is checked as its base type, so a
value a server added later stays a plain string. An integral float such as ``1.0`` counts as an
integer, as in JSON Schema.

Walking a shape costs a call per value (~150 for a page of 20 apps), so a generated predicate
(``_shapes.FAST``, one boolean expression per object) is asked first; it is True only for values
that have the shape, and the walk runs only when it is not, to decide and to name the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ShapeMismatch", "check"]

_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "num": (int, float), "bool": (bool,)}
_NAMES = {"str": "a string", "int": "an integer", "num": "a number", "bool": "a boolean", "obj": "an object"}
_MISSING: Any = object()


class ShapeMismatch(ValueError):
    """Where (``path``) and how an answer differs from its shape."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.segments: list[str] = []

    @property
    def path(self) -> str:
        text = ""
        for segment in reversed(self.segments):
            text += segment if segment.startswith("[") else (f".{segment}" if text else segment)
        return text or "(the body)"


def _wrong(kind: str, value: object) -> ShapeMismatch:
    wanted = "an array" if kind == "list" else _NAMES.get(kind, kind)
    return ShapeMismatch(f"must be {wanted} (got {_json_type(value)})")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def _scalar(kind: str, value: object) -> bool:
    cls = value.__class__
    if kind == "str":
        return cls is str
    if kind == "int":
        return cls is int or (cls is float and value.is_integer())  # type: ignore[attr-defined]
    if kind == "num":
        return cls is int or cls is float
    if kind == "bool":
        return cls is bool
    return True  # "any"


def check(shape: tuple[Any, ...], value: object, fast: Callable[[Any], bool] | None = None) -> None:
    """Raise ``ShapeMismatch`` if ``value`` (parsed JSON) does not have ``shape``.

    ``fast`` is the shape's generated predicate: when it says yes, nothing is walked. It reads a
    required field as ``value[name]``, so a missing one raises ``KeyError``: the walk names it.
    """
    if fast is not None:
        try:
            if fast(value):
                return
        except KeyError:
            pass
    _walk(shape, value)


def _walk(shape: tuple[Any, ...], value: object) -> None:
    kind = shape[0]
    if kind == "null":
        if value is not None:
            _walk(shape[1], value)
        return
    if kind == "obj":
        if value.__class__ is not dict:
            raise _wrong("obj", value)
        for name in shape[1]:
            if name not in value:
                error = ShapeMismatch("is required")
                error.segments.append(name)
                raise error
        for name, sub in shape[2].items():
            item = value.get(name, _MISSING)
            if item is _MISSING:
                continue
            sub_kind = sub[0]
            if sub_kind in _SCALARS:
                if _scalar(sub_kind, item):
                    continue
                error = _wrong(sub_kind, item)
                error.segments.append(name)
                raise error
            try:
                _walk(sub, item)
            except ShapeMismatch as error:
                error.segments.append(name)
                raise
        return
    if kind == "list":
        if value.__class__ is not list:
            raise _wrong("list", value)
        sub = shape[1]
        for index, item in enumerate(value):
            try:
                _walk(sub, item)
            except ShapeMismatch as error:
                error.segments.append(f"[{index}]")
                raise
        return
    if not _scalar(kind, value):
        raise _wrong(kind, value)
