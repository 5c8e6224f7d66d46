"""Straight-line predicates for the response shapes, written into ``_shapes.py`` beside them.

``_response_check.check`` walks a shape (nested tuples) to find and name a mismatch; a walk over a
page of 20 apps makes ~150 calls. The predicates written here answer only "does it match?" in one
boolean expression per object, so a well-formed answer costs a few attribute reads per field and
the walk runs only when the predicate says no.

A predicate may be *stricter* than the walk, never looser: it is True only for values the walk
accepts. Where it says False (or raises ``KeyError`` for a missing required field) the walk
decides, so an integral float such as ``1.0`` for an integer, which the walk accepts, simply
takes the slow path. ``tests/test_shape_checks.py`` holds every generated predicate to that.
"""

from __future__ import annotations

import ast
import re
from typing import Any

# Shape kind -> the classes json.loads gives a value of that kind (exact classes, so bool is not an int).
SCALARS = {"str": ("str",), "int": ("int",), "num": ("int", "float"), "bool": ("bool",)}
NULL, ABSENT = "NoneType", "_Absent"


class ShapeChecks:
    """Predicate functions for a set of shapes, deduplicated by shape, as source."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, bool, bool], str] = {}  # (repr of the shape, None ok, absent ok) -> name
        self._sources: list[str] = []
        self.constants: dict[str, tuple[str, ...]] = {}  # constant name -> the classes it holds
        self.entry: dict[str, str] = {}  # model class -> its predicate

    def add(self, model: str, shape_source: str) -> None:
        self.entry[model] = self._function(ast.literal_eval(shape_source), False, False, model)

    @property
    def functions(self) -> list[str]:
        return list(self._sources)

    def _function(self, shape: tuple[Any, ...], none_ok: bool, absent_ok: bool, hint: str) -> str:
        """The name of a predicate ``(v) -> bool`` for ``shape`` (None and the absent marker allowed if said)."""
        key = (repr(shape), none_ok, absent_ok)
        if key in self._names:
            return self._names[key]
        base = "_is_" + re.sub(r"\W", "_", hint) + ("_or_null" if none_ok else "") + ("_or_absent" if absent_ok else "")
        name, n = base, 1
        while name in self._names.values():
            n += 1
            name = f"{base}_{n}"
        self._names[key] = name
        index = len(self._sources)
        self._sources.append("")  # keeps definition order stable: callers before callees
        body = self._test(shape, "v", none_ok, absent_ok, hint, inline=True) or "True"
        self._sources[index] = f"def {name}(v: Any) -> bool:\n    return {body}\n"
        return name

    def _test(
        self, shape: tuple[Any, ...], src: str, none_ok: bool, absent_ok: bool, hint: str, *, inline: bool
    ) -> str:
        """An expression that is True when ``src`` has ``shape``; "" when anything goes.

        ``inline`` is True only inside ``shape``'s own function, where ``src`` is its parameter ``v``;
        elsewhere an object or array is tested by calling its function.
        """
        kind = shape[0]
        if kind == "null":
            return self._test(shape[1], src, True, absent_ok, hint, inline=inline)
        if kind == "any":
            return ""
        if kind in SCALARS:
            classes = SCALARS[kind] + ((NULL,) if none_ok else ()) + ((ABSENT,) if absent_ok else ())
            if len(classes) == 1:
                return f"{src}.__class__ is {classes[0]}"
            return f"{src}.__class__ in {self._constant(kind, none_ok, absent_ok, classes)}"
        if not inline:
            return f"{self._function(shape, none_ok, absent_ok, hint)}({src})"
        structure = self._structure(shape, hint)
        alternatives = (["v is None"] if none_ok else []) + (["v is _ABSENT"] if absent_ok else [])
        if not alternatives:
            return structure
        return " or ".join([*alternatives, f"({structure})"])

    def _structure(self, shape: tuple[Any, ...], hint: str) -> str:
        """The test of an object or array ``v`` itself (neither None nor absent)."""
        if shape[0] == "list":
            item = self._function(shape[1], False, False, f"{hint}_item")
            return f"v.__class__ is list and all(map({item}, v))"
        assert shape[0] == "obj", shape
        required, props = shape[1], shape[2]
        # A required field is read as v[name]: a missing one raises KeyError, which means "no" here.
        parts = ["v.__class__ is dict"] + [f"{name!r} in v" for name in required if name not in props]
        for name, sub in props.items():
            present = name in required
            src = f"v[{name!r}]" if present else f"v.get({name!r}, _ABSENT)"
            test = self._test(sub, src, False, not present, f"{hint}_{name}", inline=False)
            if test:
                parts.append(test)
            elif present:
                parts.append(f"{name!r} in v")
        return " and ".join(parts)

    def _constant(self, kind: str, none_ok: bool, absent_ok: bool, classes: tuple[str, ...]) -> str:
        name = "_" + kind.upper() + ("_OR_NULL" if none_ok else "") + ("_OR_ABSENT" if absent_ok else "")
        self.constants[name] = classes
        return name


def shape_checks(shapes: dict[str, str]) -> ShapeChecks:
    """The predicates for ``shapes`` (model class -> shape source), in a stable order."""
    checks = ShapeChecks()
    for model, source in sorted(shapes.items()):
        checks.add(model, source)
    return checks
