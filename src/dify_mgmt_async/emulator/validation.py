"""Request validation compiled once from the OpenAPI document, so the emulator follows the spec by construction.

openapi-core loads the document (checked by openapi-spec-validator on the way) and resolves its
references. For each operation, the schema of every parameter and of every request body becomes an
openapi-core schema validator (the OAS 3.1 dialect of jsonschema) at start-up, so a request pays only
for the validation itself. Calling openapi-core's whole request validator per request walks the
document again on every call: about ten times the cost (``benchmarks/emulator_cpu.py``).

What stays here by hand is the wire, not the rules: query strings become the type their schema
names, multipart parts are decoded as their ``encoding`` says, and a failed schema check becomes the
seed's ``400 invalid_param`` naming the field. JSON is read as RFC 8259 has it (``parse_json``):
Python's extras (``NaN``, ``Infinity``), numbers past a float's range, strings that are not Unicode
(a lone surrogate escape) and nesting past ``MAX_DEPTH`` are refused before anything sees them. One
rule the schemas carry outside JSON Schema is applied too: a body property marked
``x-sdk-timestamp: future`` (Unix seconds) must be in the future, as its description says.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.validation.schemas import oas31_schema_validators_factory

from .store import ApiError, invalid

__all__ = ["DEFAULT_SPEC", "MAX_DEPTH", "Body", "Operation", "Parameter", "Spec", "load", "parse_json", "spec_path"]

_PACKAGED = Path(__file__).resolve().parent / "management.yaml"  # where the wheel puts the spec
_SOURCE = Path(__file__).resolve().parents[3] / "openapi" / "management.yaml"  # a source checkout
DEFAULT_SPEC = _PACKAGED if _PACKAGED.exists() else _SOURCE

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEAN = {"true": True, "false": False}
_JSON_TYPES = ("application/json",)
MAX_DEPTH = 64
"""How deeply a JSON body (or JSON part) may nest arrays and objects; deeper is refused with 400."""


def spec_path(path: str | Path | None = None) -> Path:
    """``path``, or the spec the package was built from."""
    return Path(path) if path is not None else DEFAULT_SPEC


def _cast(kind: str | None, raw: str) -> Any:
    """A query/header/path string as the JSON type its schema names; left a string when it is not one.

    A string left as it is then fails the schema's ``type``, which names the type wanted.
    """
    if kind == "integer" and _INTEGER.fullmatch(raw):
        return int(raw)
    if kind == "number" and _NUMBER.fullmatch(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if kind == "boolean" and raw in _BOOLEAN:
        return _BOOLEAN[raw]
    return raw


def _field(prefix: str, path: Any) -> str:
    """A dotted field name: ``process_rule.chunk_size``, ``items[2]``."""
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _message(prefix: str, error: ValidationError) -> str:
    """The seed's ``error`` text for one schema error: the field first, then what is wrong with it."""
    where = _field(prefix, error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = next(name for name in cast("list[str]", error.validator_value) if name not in instance)
        return f"{_field(where, [missing])}: is required"
    if error.validator == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
        known = error.schema.get("properties", {})
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = [n for n in instance if n not in known and not any(p.search(n) for p in patterns)]
        if extra:
            return f"{_field(where, [extra[0]])}: unknown field"
    return f"{where or 'body'}: {error.message}"


class _NotFinite:
    """What ``parse_json`` reads for ``NaN``, ``Infinity`` or a number past a float's range, to refuse by field."""

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> float | _NotFinite:
    number = float(text)  # a JSON number's text: past the range it is inf, never an error
    return number if math.isfinite(number) else _NotFinite(text)


def _printable(name: str) -> str:
    """A field name with any lone surrogate written as an escape, so the error message can be sent."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json(raw: bytes, prefix: str = "", *, detail: bool = True) -> Any:
    """JSON from the wire, or ``400 invalid_param`` naming the field (``prefix``: the part's name, for a form).

    Beyond ``json.loads``: ``NaN``/``Infinity`` (not JSON) and numbers past a float's range (``1e400``)
    are refused, as are strings and names holding a lone surrogate (``"\\ud800"``, JSON's syntax but no
    text: it could be stored but never sent back), and nesting deeper than ``MAX_DEPTH``. ``detail``:
    the parser's reason for malformed JSON is in the message.
    """
    where = prefix or "body"
    try:
        value = json.loads(raw, parse_constant=_NotFinite, parse_float=_float)
    except RecursionError:
        raise invalid(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:  # ValueError: an integer of more than 4300 digits, too
        raise invalid(f"{where}: malformed JSON ({exc})" if detail else f"{where}: malformed JSON") from None
    pending: list[tuple[Any, list[str | int], int]] = [(value, [], 0)]
    while pending:
        node, path, depth = pending.pop()
        if isinstance(node, _NotFinite):
            raise invalid(f"{_field(prefix, path) or 'body'}: must be a finite number (got {node.text})")
        if isinstance(node, str):
            if not _unicode(node):
                raise invalid(f"{_field(prefix, path) or 'body'}: is not valid Unicode (a lone surrogate)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth == MAX_DEPTH:
            top = _field(prefix, path[:1]) or "body"
            raise invalid(f"{top}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, list):
            pending.extend((item, [*path, index], depth + 1) for index, item in reversed(list(enumerate(node))))
            continue
        for key in node:
            if not _unicode(key):
                raise invalid(f"{_field(prefix, [*path, _printable(key)])}: is not valid Unicode (a lone surrogate)")
        pending.extend((item, [*path, key], depth + 1) for key, item in reversed(node.items()))
    return value


def _check(validator: Validator, value: Any, prefix: str) -> None:
    error = best_match(validator.iter_errors(value))
    if error is not None:
        raise invalid(_message(prefix, error))


def _kind(schema: Mapping[str, Any]) -> str | None:
    """The one JSON type a schema names (``[integer, "null"]`` names integer); None for anyOf and friends."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None


class SpecError(ValueError):
    """The spec uses a construct the emulator cannot validate; the message names where."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter, with its schema's validator built once."""

    name: str
    location: str
    required: bool
    kind: str | None
    items: str | None
    default: Any
    has_default: bool
    validator: Validator

    def read(self, raw: list[str]) -> Any:
        if self.kind == "array":
            values = raw if self.location == "query" else [v for r in raw for v in r.split(",")]
            return [_cast(self.items, v) for v in values]
        return _cast(self.kind, raw[-1])


@dataclass(frozen=True)
class Body:
    """A request body: a validator per media type; for multipart forms, which parts stream and which are JSON."""

    required: bool
    validators: Mapping[str, Validator]
    file_parts: frozenset[str]
    json_parts: frozenset[str]
    future: frozenset[str] = frozenset()
    """Properties of the JSON body marked ``x-sdk-timestamp: future``: Unix seconds that must be in the future."""


@dataclass(frozen=True)
class Operation:
    """What the spec says about one operation's request, ready to check requests against."""

    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body: Body | None
    statuses: frozenset[str]

    def read_parameters(
        self,
        query: Callable[[str], list[str]],
        headers: Callable[[str], list[str]],
        path: Mapping[str, str],
        cookies: Mapping[str, str],
    ) -> dict[str, Any]:
        """The declared parameters, typed and checked, with the spec's defaults; undeclared ones are ignored."""
        values: dict[str, Any] = {}
        for param in self.parameters:
            if param.location == "query":
                raw = query(param.name)
            elif param.location == "header":
                raw = headers(param.name)
            elif param.location == "path":
                raw = [path[param.name]] if param.name in path else []
            else:
                raw = [cookies[param.name]] if param.name in cookies else []
            if not raw:
                if param.required:
                    raise invalid(f"{param.name}: is required")
                if param.has_default:
                    values[param.name] = param.default
                continue
            value = param.read(raw)
            _check(param.validator, value, param.name)
            values[param.name] = value
        return values

    def media_type(self, content_type: str) -> str:
        """The declared media type ``content_type`` is; 415 (or 400 where 415 is not documented) otherwise."""
        assert self.body is not None
        media = content_type.partition(";")[0].strip().lower()
        if media in self.body.validators:
            return media
        status = 415 if "415" in self.statuses else 400
        code = "unsupported_media_type" if status == 415 else "invalid_param"
        expected = " or ".join(self.body.validators)
        raise ApiError(status, code, f"body: Content-Type must be {expected}, not {media or 'missing'}")

    def read_json(self, content_type: str, raw: bytes) -> Any:
        """The JSON body, parsed and checked against its schema; None when an optional body is left out."""
        if self.body is None:
            return None
        if not raw:
            if self.body.required:
                raise invalid("body: a JSON object is required")
            return None
        media = self.media_type(content_type)
        value = parse_json(raw)
        _check(self.body.validators[media], value, "")
        if isinstance(value, dict):
            for name in self.body.future & value.keys():
                _future(name, value[name])
        return value

    def read_form(self, parts: Mapping[str, list[bytes]], files: Mapping[str, int]) -> dict[str, Any]:
        """A multipart form's non-file parts, decoded and checked with the form's schema.

        ``files`` counts the parts of each streamed file field (their bytes never come here); a field
        sent twice is refused, as each of the form's fields has one value.
        """
        assert self.body is not None
        form: dict[str, Any] = {}
        for name, count in files.items():
            if count:
                form[name] = "" if count == 1 else [""] * count
        for name, chunks in parts.items():
            decoded: list[Any] = []
            for chunk in chunks:
                if name in self.body.json_parts:
                    decoded.append(parse_json(chunk, name, detail=False))
                else:
                    try:
                        decoded.append(chunk.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise invalid(f"{name}: not UTF-8 text") from None
            form[name] = decoded[0] if len(decoded) == 1 else decoded
        for name, value in form.items():
            if isinstance(value, list) and (name in files or len(parts.get(name, ())) > 1):
                raise invalid(f"{name}: exactly one part is allowed")
        _check(self.body.validators["multipart/form-data"], form, "")
        return form


def _future(name: str, value: Any) -> None:
    """``x-sdk-timestamp: future``: Unix seconds after now; the SDK's own check says it in the same words."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value > time.time():
        return  # not a number: the schema has said so already
    when = datetime.fromtimestamp(max(int(value), 0), UTC).isoformat()
    raise invalid(f"{name}: must be in the future, and {when} is not (got {value!r})")


@dataclass(frozen=True)
class Spec:
    """Every operation of one OpenAPI document, by ``operationId``."""

    path: Path
    operations: Mapping[str, Operation]


def _resolved(node: SchemaPath) -> dict[str, Any]:
    with node.resolve() as resolved:
        contents = resolved.contents
        assert isinstance(contents, dict), node
        return contents


def _parameter(spec: SchemaPath, node: SchemaPath, where: str) -> Parameter:
    raw = _resolved(node)
    name, location = raw["name"], raw["in"]
    if "schema" not in node:
        raise SpecError(f"{where}: parameter {name!r} has no schema (`content` parameters are not supported)")
    style = raw.get("style", "form" if location in ("query", "cookie") else "simple")
    if style not in ("form", "simple") or raw.get("explode", style == "form") != (style == "form"):
        raise SpecError(f"{where}: parameter {name!r}: style {style!r} with explode={raw.get('explode')!r}")
    schema = node / "schema"
    contents = _resolved(schema)
    kind = _kind(contents)
    items = _kind(_resolved(schema / "items")) if kind == "array" and "items" in schema else None
    return Parameter(
        name=name,
        location=location,
        required=bool(raw.get("required", False)),
        kind=kind,
        items=items,
        default=contents.get("default"),
        has_default="default" in contents,
        validator=oas31_schema_validators_factory.create(spec, schema).validator,
    )


def _body(spec: SchemaPath, node: SchemaPath) -> Body:
    validators: dict[str, Validator] = {}
    file_parts: set[str] = set()
    json_parts: set[str] = set()
    future: set[str] = set()
    for key, content in (node / "content").items():
        media = str(key).lower()
        validators[media] = oas31_schema_validators_factory.create(spec, content / "schema").validator
        if media in _JSON_TYPES and "properties" in content / "schema":
            for key_, prop in (content / "schema" / "properties").items():
                if _resolved(prop).get("x-sdk-timestamp") == "future":
                    future.add(str(key_))
        if media != "multipart/form-data":
            continue
        encoding = _resolved(content / "encoding") if "encoding" in content else {}
        for key_, prop in (content / "schema" / "properties").items():
            name, schema = str(key_), _resolved(prop)
            part_type = encoding.get(name, {}).get("contentType", "")
            if schema.get("format") == "binary" or ("contentMediaType" in schema and not part_type.endswith("json")):
                file_parts.add(name)
            elif part_type in _JSON_TYPES or (not part_type and _kind(schema) in ("object", "array")):
                json_parts.add(name)  # OpenAPI: an object or array part is application/json unless encoding says
    return Body(
        required=bool(_resolved(node).get("required", False)),
        validators=validators,
        file_parts=frozenset(file_parts),
        json_parts=frozenset(json_parts),
        future=frozenset(future),
    )


def _by_key(node: SchemaPath) -> dict[tuple[str, str], SchemaPath]:
    if "parameters" not in node:
        return {}
    found = {}
    for param in node / "parameters":
        raw = _resolved(param)
        found[(raw["name"], raw["in"])] = param
    return found


def compile_spec(path: Path, *, check: bool = True) -> Spec:
    """Read the document at ``path`` (``check``: through openapi-spec-validator too); build its validators."""
    # None skips the check (openapi-core's documented switch; its annotation leaves None out).
    config = None if check else Config(spec_validator_cls=None)  # type: ignore[arg-type]
    spec = OpenAPI.from_file_path(str(path), config=config).spec
    operations: dict[str, Operation] = {}
    for key, item in (spec / "paths").items():
        template = str(key)
        shared = _by_key(item)
        for method in METHODS:
            if method not in item:
                continue
            op = item / method
            raw = _resolved(op)
            operation_id = raw.get("operationId") or f"{method}_{template}"
            where = f"{method.upper()} {template}"
            declared = {**shared, **_by_key(op)}  # an operation's own parameter overrides the path's
            operations[operation_id] = Operation(
                operation_id=operation_id,
                method=method.upper(),
                path=template,
                parameters=tuple(_parameter(spec, p, where) for p in declared.values()),
                body=_body(spec, op / "requestBody") if "requestBody" in op else None,
                statuses=frozenset(str(s) for s in raw.get("responses", {})),
            )
    return Spec(path=path, operations=operations)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Spec:
    # The package's own spec passed `make lint-spec`; checking it again would add half a second to every start.
    return compile_spec(path, check=path != DEFAULT_SPEC.resolve())


def load(path: str | Path | None = None) -> Spec:
    """The compiled spec at ``path`` (default: the package's), built once per file version.

    Another document is checked by openapi-spec-validator first, so a broken one fails at start-up.
    """
    resolved = spec_path(path).resolve()
    return _load(resolved, resolved.stat().st_mtime_ns)
