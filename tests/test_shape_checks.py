"""The generated predicates (``_shapes.FAST``) agree with the shape walk: never looser, and yes for good answers.

``_response_check.check`` skips the walk when a predicate says yes, so a predicate that accepted
something the walk refuses would let a bad answer through. For every shape, each value of a
well-formed sample is replaced by every JSON type (and each field removed), nested ones included.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from dify_mgmt_async._response_check import ShapeMismatch, check
from dify_mgmt_async._shapes import FAST, SHAPES

SAMPLES: dict[str, Any] = {"str": "s", "int": 7, "num": 1.5, "bool": True, "any": {"x": 1}}
REPLACEMENTS: list[Any] = [None, "s", "", 0, 7, 1.0, 1.5, True, False, [], [1], {}, {"a": 1}]
_REMOVE = object()


def sample(shape: tuple[Any, ...], *, optional: bool = True) -> Any:
    """A value of ``shape``: every declared field present (or only the required ones), two items per array."""
    kind = shape[0]
    if kind == "null":
        return sample(shape[1], optional=optional)
    if kind == "obj":
        return {k: sample(s, optional=optional) for k, s in shape[2].items() if optional or k in shape[1]}
    if kind == "list":
        return [sample(shape[1], optional=optional), sample(shape[1], optional=optional)]
    return SAMPLES[kind]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``value``: keys of objects and indexes of arrays, nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def mutated(value: Any, path: tuple[Any, ...], replacement: Any) -> Any:
    copied = copy.deepcopy(value)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    if replacement is _REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copied


def walk_accepts(shape: tuple[Any, ...], value: Any) -> bool:
    try:
        check(shape, value)
    except ShapeMismatch:
        return False
    return True


def fast_accepts(name: str, value: Any) -> bool:
    try:
        return FAST[name](value)
    except KeyError:  # a required field missing: check() then walks
        return False


def test_every_shape_has_a_predicate() -> None:
    assert set(FAST) == set(SHAPES)
    assert len(SHAPES) >= 10


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_predicate_says_yes_to_well_formed_answers(name: str) -> None:
    shape = SHAPES[name]
    for value in (sample(shape), sample(shape, optional=False)):
        assert walk_accepts(shape, value)
        assert FAST[name](value) is True
    assert FAST[name]({**sample(shape), "unknown_extra": [1, {"b": None}]}) is True


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_predicate_never_accepts_what_the_walk_refuses(name: str) -> None:
    shape = SHAPES[name]
    base = sample(shape)
    refused = 0
    for value in [None, "s", 7, [], [base]]:
        assert not walk_accepts(shape, value)
        assert not fast_accepts(name, value)
    for path in paths(base):
        for replacement in [*REPLACEMENTS, _REMOVE]:
            value = mutated(base, path, replacement)
            if not walk_accepts(shape, value):
                refused += 1
                assert not fast_accepts(name, value), (path, replacement)
    assert refused > 0


def test_check_walks_only_when_the_predicate_says_no() -> None:
    shape = SHAPES["App"]
    bad = {"id": 1}
    check(shape, bad, lambda v: True)  # the predicate's yes is final
    with pytest.raises(ShapeMismatch) as info:
        check(shape, bad, FAST["App"])
    assert (info.value.path, info.value.problem) == ("name", "is required")
    check(shape, {**sample(shape), "created_at": 1688000000.0}, FAST["App"])  # the walk accepts an integral float
    assert FAST["App"]({**sample(shape), "created_at": 1688000000.0}) is False
