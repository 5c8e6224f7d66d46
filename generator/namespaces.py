"""Render the namespace layer (``src/dify_mgmt_async/_resources.py``) from the spec.

This is our own, stable recipe: it reads ``openapi/management.yaml`` and writes one class per
tag and one method per operation. Each method only checks and shapes its arguments, then hands
the generated operation module to the hand-written core (``_core.Core``), which owns auth,
retries, errors, pagination and uploads. Nothing endpoint-specific is written by hand.

Spec extensions read here:

* ``x-sdk-method``: the method's name in its namespace (default: the operationId);
* ``x-sdk-timestamp: future`` (on an integer of Unix seconds): the method also takes a ``datetime``
  and refuses a time in the past before sending;
* ``x-sdk-pagination: page``: the method returns an ``AsyncPager`` (await it for one page,
  ``async for`` over every item).

Names that openapi-python-client makes up (inline schemas, inline enums, inline bodies) are read
from the code it generated (``OpcModule``), so whatever it generates is exposed here under the
same name. Operations without tags go to the ``default`` namespace (``dify.default``), as
openapi-python-client puts them in ``api/default``. A construct this layer cannot expose stops
``make generate`` with one line naming its place in the spec (``Unsupported``), and so do two names
that would clash in Python, in the spec or with the hand-written client (``NameClash``, checked by
``check_names`` before anything is generated).
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from openapi_python_client.strings import PythonIdentifier, pascal_case, snake_case

from shape_checks import shape_checks  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "generator" / "templates"
PACKAGE = ROOT / "src" / "dify_mgmt_async"
CLIENT_CLASS = "DifyManagementClient"
# The first line of every file `make generate` writes (generate.HEADER): such a module is not hand-written.
GENERATED_MARK = "# Generated from openapi/management.yaml"
ID_SCHEMA = "#/components/schemas/Id"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
DEFAULT_TAG = "default"
SHAPE_KINDS = {"string": "str", "integer": "int", "number": "num", "boolean": "bool"}


class Unsupported(Exception):
    """A spec construct the namespace layer cannot expose; the message is one line naming where."""

    def __init__(self, where: str, construct: str) -> None:
        super().__init__(f"{where}: {construct} is not supported by the namespace generator")


class Unreadable(Exception):
    """Text that cannot be read: hand-written source for ``check_names`` (not UTF-8, not Python, an annotation it
    cannot follow), or the spec for ``generate.load_spec`` (not UTF-8).

    The message is one line naming the file: a guess would be a wrong ``NameClash`` or a lost check.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


class NameClash(Exception):
    """Two names the generated code would define alike, or one the hand-written client needs and the spec lacks.

    Python lets the later definition win without a word (a method, a class, an attribute set in
    ``__init__``) and openapi-python-client writes a reused operationId's module over the first, so
    ``make generate`` would succeed with a broken client. The message is one line naming where.
    """

    def __init__(self, where: str, clash: str) -> None:
        super().__init__(f"{where}: {clash}")


@dataclass
class OpcModule:
    """What openapi-python-client generated for one operation, read from its source."""

    source: str

    @classmethod
    def load(cls, opc_pkg: Path | None, tag: str, op_id: str) -> OpcModule:
        if opc_pkg is None:
            return cls("")
        path = opc_pkg / "api" / snake_case(tag) / f"{snake_case(op_id)}.py"
        return cls(path.read_text(encoding="utf-8") if path.exists() else "")

    def annotation(self, gen_name: str) -> str:
        """The type ``_get_kwargs`` gives one keyword, without ``| Unset``."""
        head = self.source.split(") -> dict[str, Any]:", 1)[0]
        match = re.search(rf"^\s*{re.escape(gen_name)}: (?P<type>[^=\n]+?)(?: = UNSET)?,\s*$", head, re.M)
        if match is None:
            return ""
        return match["type"].replace(" | Unset", "").strip()

    def success(self, code: str) -> str:
        """What opc parses a 2xx answer into: a model class, ``str``, ``bytes``, ``None`` (or ``""``)."""
        match = re.search(rf"status_code == {code}:\s*\n\s*response_{code} = (?P<expr>[^\n]*)", self.source)
        if match is None:
            return ""
        expr = match["expr"]
        if ".from_dict(" in expr:
            return expr.split(".from_dict(", 1)[0].strip()
        if expr.startswith("response.text"):
            return "str"
        if expr.startswith("File("):
            return "bytes"
        return "None" if "None" in expr else ""


@dataclass
class Arg:
    """One argument of a namespace method."""

    name: str  # the public Python name
    gen: str  # the generated code's keyword for it (opc renames ``type`` to ``type_``)
    wire: str  # the name on the wire (query key, JSON property, form field)
    annotation: str
    check: str  # expression that validates the raw value and converts it for the generated code
    required: bool
    description: str = ""


@dataclass
class Method:
    name: str
    operation_id: str
    module: str
    module_alias: str
    http_method: str
    path: str
    summary: str
    description: str
    path_args: list[Arg] = field(default_factory=list)
    kw_args: list[Arg] = field(default_factory=list)
    kind: str = "request"  # request | paginate | upload
    returns: str = "None"
    expect: str = "None"
    page_type: str = ""
    item_type: str = ""
    body_class: str = ""
    body_built_from_args: bool = False
    file_field: str = ""
    form_parts: list[tuple[str, str, str]] = field(default_factory=list)  # (wire name, content type, check)


@dataclass
class Namespace:
    tag: str
    class_name: str
    description: str
    methods: list[Method] = field(default_factory=list)


@dataclass
class Context:
    spec: dict[str, Any]
    imports_models: set[str] = field(default_factory=set)
    literals: dict[str, list[str]] = field(default_factory=dict)  # enum class -> values
    field_rules: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # model class -> (wire, checker)
    shapes: dict[str, str] = field(default_factory=dict)  # response model class -> its shape, as source
    opc_pkg: Path | None = None

    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Follow ``$ref``s; return the schema and the name of the last component referenced."""
        name = None
        while "$ref" in schema:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema, name

    def properties(self, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Properties and required names of an object schema, merging ``allOf``."""
        schema, _ = self.resolve(schema)
        props: dict[str, Any] = dict(schema.get("properties") or {})
        required: list[str] = list(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            p, r = self.properties(part)
            props.update(p)
            required += [x for x in r if x not in required]
        return props, required


def py_name(wire: str) -> str:
    name = snake_case(wire)
    return f"{name}_" if keyword.iskeyword(name) else name


def literal_alias(enum_class: str) -> str:
    return f"{enum_class}Literal"


def checker(
    ctx: Context, label: str, schema: dict[str, Any], owner: str, *, path: bool = False, hint: str = ""
) -> tuple[str, str, str]:
    """(annotation, checker function, its keyword arguments as source) for one value.

    Checkers live in ``_validation`` and are called as ``f(label, value, required=..., **extras)``;
    ``ident`` (path segments, always required) takes no ``required``. ``hint`` is the type opc
    gave the value, which names the classes it made up for inline schemas.
    """
    if path:  # a path segment: ids also as UUID; never empty, "." or ".."
        return ("str | UUID" if schema.get("$ref") == ID_SCHEMA else "str"), "_v.ident", ""
    resolved, ref = ctx.resolve(schema)
    if "enum" in resolved:
        cls = pascal_case(ref) if ref else hint.strip()
        if not cls.isidentifier():
            raise Unsupported(f"{owner}.{label}", "an inline enum openapi-python-client gave no class")
        ctx.imports_models.add(cls)
        ctx.literals[cls] = [str(v) for v in resolved["enum"]]
        return f"{cls} | {literal_alias(cls)}", "_v.choice", f"enum={cls}"
    kind = resolved.get("type")
    if kind == "array":
        item_hint = hint[5:-1] if hint.startswith("list[") and hint.endswith("]") else ""
        item_ann, item_func, item_extras = checker(ctx, label, resolved.get("items") or {}, owner, hint=item_hint)
        if item_func == "_v.model":
            raise Unsupported(f"{owner}.{label}", "an array of objects as an argument")
        item = f"partial({item_func}, {item_extras})" if item_extras else item_func
        return f"Sequence[{item_ann}]", "_v.array", f"item={item}"
    if kind == "object":
        cls = pascal_case(ref) if ref else (hint.strip() or pascal_case(f"{owner}_{label}"))
        ctx.imports_models.add(cls)
        rules = "None"
        if resolved.get("properties") and resolved.get("additionalProperties") is False:
            rules = f"_{snake_case(cls).upper()}_FIELDS"
            if cls not in ctx.field_rules:
                ctx.field_rules[cls] = []
                for wire, sub in resolved["properties"].items():
                    _, func, extras = checker(ctx, wire, sub, cls)
                    ctx.field_rules[cls].append((wire, f"partial({func}, {extras})" if extras else func))
        return f"{cls} | Mapping[str, Any]", "_v.model", f"model={cls}, fields={rules}"
    bounds: list[str] = []
    if kind == "string":
        for key, arg in (("minLength", "min_length"), ("maxLength", "max_length"), ("pattern", "pattern")):
            if key in resolved:
                bounds.append(f"{arg}={resolved[key]!r}")
        return "str", "_v.text", ", ".join(bounds)
    if kind in ("integer", "number") and resolved.get("x-sdk-timestamp") == "future":
        return f"{'int' if kind == 'integer' else 'float'} | datetime", "_v.future_timestamp", ""
    if kind == "integer":
        for key in ("minimum", "maximum"):
            if key in resolved:
                bounds.append(f"{key}={resolved[key]!r}")
        return "int", "_v.integer", ", ".join(bounds)
    if kind == "number":
        for key in ("minimum", "maximum"):
            if key in resolved:
                bounds.append(f"{key}={resolved[key]!r}")
        return "float", "_v.number", ", ".join(bounds)
    if kind == "boolean":
        return "bool", "_v.boolean", ""
    if "anyOf" in resolved and all(ctx.resolve(s)[0].get("type") == "string" for s in resolved["anyOf"]):
        return "str", "_v.text", ""  # known values or any string: any string goes
    raise Unsupported(f"{owner}.{label}", f"the argument schema {_brief(resolved)}")


def _brief(schema: dict[str, Any]) -> str:
    keys = [k for k in ("type", "anyOf", "oneOf", "allOf", "not", "const") if k in schema]
    return "{" + ", ".join(keys) + "}"


def make_arg(
    ctx: Context,
    wire: str,
    schema: dict[str, Any],
    required: bool,
    owner: str,
    *,
    path: bool = False,
    doc: str = "",
    hint: str = "",
) -> Arg:
    name = py_name(wire)
    annotation, func, extras = checker(ctx, wire, schema, owner, path=path, hint=hint)
    # Path segments are always required; the other checkers take ``required``.
    flag = "" if path else f", required={required}"
    call = f"{func}({wire!r}, {name}{flag}{', ' + extras if extras else ''})"
    description = doc or schema.get("description") or ctx.resolve(schema)[0].get("description", "")
    return Arg(
        name,
        str(PythonIdentifier(wire, "field_")),
        wire,
        annotation,
        call,
        required,
        " ".join(str(description).split()),
    )


def success_responses(op: dict[str, Any]) -> dict[str, Any]:
    return {str(code): r for code, r in op["responses"].items() if str(code).startswith("2")}


def response_class(ctx: Context, op: dict[str, Any], where: str, opc: OpcModule) -> str:
    """What every documented 2xx answer parses to: a model class, ``str``, ``bytes`` or ``None``.

    The class is the one openapi-python-client made for the answer (named by it for inline schemas);
    the answer's JSON schema is recorded as that class's shape for response validation.
    """
    found: dict[str, str] = {}
    for code, response in success_responses(op).items():
        if "$ref" in response:
            response = ctx.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        content = response.get("content") or {}
        if not content:
            found[code] = "None"
            continue
        if len(content) > 1:
            raise Unsupported(f"{where}.responses.{code}", f"more than one media type ({', '.join(content)})")
        media, body = next(iter(content.items()))
        schema = body.get("schema") or {}
        parsed = opc.success(code) or (pascal_case(ctx.resolve(schema)[1] or "") or "")
        if media == "application/json" or media.endswith("+json"):
            if ctx.resolve(schema)[0].get("type") != "object" and "allOf" not in ctx.resolve(schema)[0]:
                raise Unsupported(f"{where}.responses.{code}", "a JSON answer that is not an object")
            if not parsed or parsed in ("str", "bytes", "None"):
                raise Unsupported(f"{where}.responses.{code}", "a JSON answer openapi-python-client gave no model")
            ctx.shapes.setdefault(parsed, shape(ctx, schema))
        elif media.startswith("text/"):
            parsed = "str"
        elif ctx.resolve(schema)[0].get("format") == "binary" or media == "application/octet-stream":
            parsed = "bytes"
        else:
            raise Unsupported(f"{where}.responses.{code}", f"the answer media type {media}")
        found[code] = parsed
    kinds = set(found.values())
    if len(kinds - {"None"}) > 1:
        raise Unsupported(f"{where}.responses", f"2xx answers of different types ({', '.join(sorted(kinds))})")
    if not kinds or kinds == {"None"}:
        return "None"
    if "None" in kinds:
        return "None"  # a delete answers 200 {result} or 204: either way the caller gets None
    return kinds.pop()


def shape(ctx: Context, schema: dict[str, Any]) -> str:
    """A response schema as the nested tuples ``_response_check`` walks (source code).

    ``("obj", required, {name: shape})``, ``("list", item)``, ``("null", shape)`` for nullable,
    ``(kind,)`` for str/int/number/bool, ``("any",)`` where anything goes. Enums check their
    base type only: an unknown value is kept as a string.
    """
    resolved, _ = ctx.resolve(schema)
    types = resolved.get("type")
    if isinstance(types, list):
        rest = [t for t in types if t != "null"]
        inner = shape(ctx, {**resolved, "type": rest[0] if len(rest) == 1 else rest})
        return f'("null", {inner})' if "null" in types else inner
    if "allOf" in resolved or types == "object" or "properties" in resolved:
        props, required = ctx.properties(resolved)
        fields = ", ".join(f"{k!r}: {_nullable_if_marked(ctx, v)}" for k, v in props.items())
        return f'("obj", {tuple(required)!r}, {{{fields}}})'
    if types == "array":
        return f'("list", {shape(ctx, resolved.get("items") or {})})'
    if isinstance(types, str) and types in SHAPE_KINDS:
        return f'("{SHAPE_KINDS[types]}",)'
    branches = resolved.get("anyOf") or resolved.get("oneOf")
    if branches:
        kinds = {shape(ctx, b) for b in branches}
        if len(kinds) == 1:
            return kinds.pop()
    return '("any",)'


def _nullable_if_marked(ctx: Context, schema: dict[str, Any]) -> str:
    """A property the SDK reads as ``None`` when absent (``x-sdk-absent-as-none``) may also be null."""
    inner = shape(ctx, schema)
    return f'("null", {inner})' if schema.get("x-sdk-absent-as-none") and not inner.startswith('("null"') else inner


def build_method(
    ctx: Context, path: str, http_method: str, op: dict[str, Any], path_item: dict[str, Any], tag: str
) -> Method:
    where = f"paths.{path}.{http_method}"
    op_id = op.get("operationId")
    if not op_id:
        raise Unsupported(where, "an operation without operationId")
    opc = OpcModule.load(ctx.opc_pkg, tag, op_id)
    method = Method(
        name=py_name(op.get("x-sdk-method", op_id)),
        operation_id=op_id,
        module=snake_case(op_id),
        module_alias=f"_{snake_case(op_id)}",
        http_method=http_method.upper(),
        path=path,
        summary=op.get("summary", op_id),
        description=" ".join(str(op.get("description", "")).split()),
    )
    params = [
        ctx.spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
        for p in [*path_item.get("parameters", []), *op.get("parameters", [])]
    ]
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for p in params:  # an operation's parameter overrides the path's of the same name and place
        merged[(p["in"], p["name"])] = p
    params = list(merged.values())
    path_params = {p["name"]: p for p in params if p["in"] == "path"}
    # Positional path arguments in the order they appear in the path template.
    for segment in path.split("/"):
        if segment.startswith("{"):
            p = path_params.get(segment[1:-1])
            if p is None:
                raise Unsupported(where, f"the path parameter {segment} without a declaration")
            method.path_args.append(
                make_arg(ctx, p["name"], p["schema"], True, op_id, path=True, doc=p.get("description", ""))
            )
    for p in params:
        if p["in"] in ("query", "header"):
            gen = str(PythonIdentifier(p["name"], "field_"))
            method.kw_args.append(
                make_arg(
                    ctx,
                    p["name"],
                    p.get("schema") or {},
                    bool(p.get("required")),
                    op_id,
                    doc=p.get("description", ""),
                    hint=opc.annotation(gen),
                )
            )
        elif p["in"] != "path":
            raise Unsupported(f"{where}.parameters.{p['name']}", f"a parameter in {p['in']}")

    body = (op.get("requestBody") or {}).get("content") or {}
    body_hint = opc.annotation("body")
    if "application/json" in body:
        schema = body["application/json"].get("schema") or {}
        _, body_ref = ctx.resolve(schema)
        method.body_class = pascal_case(body_ref) if body_ref else body_hint
        if not method.body_class.isidentifier():
            raise Unsupported(f"{where}.requestBody", "a JSON body that is not an object")
        method.body_built_from_args = True
        ctx.imports_models.add(method.body_class)
        props, required = ctx.properties(schema)
        args = [make_arg(ctx, wire, s, wire in required, method.body_class) for wire, s in props.items()]
        method.kw_args += sorted(args, key=lambda a: not a.required)
    elif "multipart/form-data" in body:
        media = body["multipart/form-data"]
        _, body_ref = ctx.resolve(media.get("schema") or {})
        method.kind = "upload"
        method.body_class = pascal_case(body_ref) if body_ref else body_hint
        ctx.imports_models.add(method.body_class)
        props, _ = ctx.properties(media.get("schema") or {})
        encoding = media.get("encoding") or {}
        for wire, s in props.items():
            if ctx.resolve(s)[0].get("format") == "binary":
                method.file_field = wire
                continue
            arg = make_arg(ctx, wire, s, False, method.body_class)
            method.kw_args.append(arg)
            content_type = (encoding.get(wire) or {}).get("contentType", "text/plain")
            method.form_parts.append((wire, content_type, arg.check))
        if not method.file_field:
            raise Unsupported(f"{where}.requestBody", "a multipart body without one binary property")
    elif body:
        raise Unsupported(f"{where}.requestBody", f"a request body of type {', '.join(body)}")
    names = [a.name for a in method.path_args + method.kw_args]
    if len(set(names)) != len(names):
        raise Unsupported(where, f"two arguments with the same Python name ({', '.join(names)})")

    method.expect = response_class(ctx, op, where, opc)
    if method.expect not in ("None", "str", "bytes"):
        ctx.imports_models.add(method.expect)
    method.returns = method.expect

    if op.get("x-sdk-pagination") == "page":
        method.kind = "paginate"
        props, _ = ctx.properties(ctx.spec["components"]["schemas"].get(method.expect) or {})
        items = (props.get("data") or {}).get("items") or {}
        _, item_ref = ctx.resolve(items)
        if not item_ref:
            raise Unsupported(f"{where}.x-sdk-pagination", "a page whose data is not an array of a component")
        method.page_type, method.item_type = method.expect, pascal_case(item_ref)
        ctx.imports_models.add(method.item_type)
        method.returns = f"AsyncPager[{method.page_type}, {method.item_type}]"
    return method


def build(spec: dict[str, Any], opc_pkg: Path | None = None) -> tuple[Context, list[Namespace]]:
    check_names(spec)  # (generate.py checks before opc runs too; this is for every caller of render)
    ctx = Context(spec, opc_pkg=opc_pkg)
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        if isinstance(schema, dict) and "enum" in schema:  # every enum component gets its Literal alias
            ctx.literals[pascal_case(name)] = [str(v) for v in schema["enum"]]
    namespaces: dict[str, Namespace] = {}
    for tag in spec.get("tags", []):
        namespaces[tag["name"]] = Namespace(
            tag["name"], tag_names(tag["name"])[1], " ".join(tag.get("description", "").split())
        )
    for path, http_method, op, item, tag in operations(spec):
        ns = namespaces.setdefault(tag, Namespace(tag, tag_names(tag)[1], "Operations without tags."))
        ns.methods.append(build_method(ctx, path, http_method, op, item, tag))
    return ctx, [ns for ns in namespaces.values() if ns.methods]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any], str]]:
    """``(path, http method, operation, path item, tag)`` for every operation, in spec order."""
    for path, item in (spec.get("paths") or {}).items():  # (``paths`` is optional in OpenAPI 3.1)
        for http_method in HTTP_METHODS:
            if http_method in item:
                op = item[http_method]
                yield path, http_method, op, item, (op.get("tags") or [DEFAULT_TAG])[0]


def tag_names(tag: str) -> tuple[str, str]:
    """A tag's attribute on the client (``dify.<attr>``) and its namespace class."""
    return snake_case(tag), f"{pascal_case(tag)}Resource"


def method_name(op: dict[str, Any], op_id: str) -> str:
    """An operation's method name in its namespace: ``x-sdk-method``, else the operationId."""
    return py_name(op.get("x-sdk-method", op_id))


@dataclass
class HandWritten:
    """What the hand-written classes define, by name and kind ("a method", "a property", "an attribute")."""

    client: dict[str, str]  # DifyManagementClient's own names (its namespaces' attributes excepted)
    client_file: str
    # namespace attribute -> (the hand-written class bound there, its file, its own names)
    helpers: dict[str, tuple[str, str, dict[str, str]]]


# What a name in a hand-written module is, as ``(kind, module, class)``: ``"hand"`` (a class defined in
# hand-written ``module``), ``"generated"`` (from a generated module), ``"module"`` (a module of the
# package), ``"other"`` (the standard library, a dependency, a builtin, not a class) or ``"unbound"``
# (neither defined nor imported there). Modules are named relative to the package, ``__init__`` for its root.
_Found = tuple[str, str, ast.ClassDef | None]


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's top-level statements, those under ``if TYPE_CHECKING:``, ``try:`` and ``with`` included."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _statements(node.body + node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            yield from _statements(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                yield from _statements(handler.body)
        elif isinstance(node, ast.With | ast.AsyncWith):
            yield from _statements(node.body)


def decode_utf8(data: bytes, where: str) -> str:
    """``data`` as UTF-8; else ``Unreadable``, naming the line, column and byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8")) + 1
        place = f"{where}:{line}:{column}"
        raise Unreadable(place, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


class _Sources:
    """The package's hand-written modules, parsed (not imported: see ``hand_written``)."""

    def __init__(self, package: Path) -> None:
        self.package = package
        self.name = package.name  # its import name, for absolute imports of its own modules
        self.parsed: dict[str, ast.Module | None] = {}

    def path(self, module: str) -> Path:
        if module == "__init__":
            return self.package / "__init__.py"
        path = self.package / f"{module.replace('.', '/')}.py"
        return path if path.is_file() else path.with_suffix("") / "__init__.py"

    def file(self, module: str) -> str:
        path = self.path(module)
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)

    def module(self, module: str) -> ast.Module | None:
        """``None`` for a generated module (or no such module, as one not generated yet)."""
        if module not in self.parsed:
            path = self.path(module)
            try:
                data = path.read_bytes() if path.is_file() else GENERATED_MARK.encode()
            except OSError as exc:
                raise Unreadable(self.file(module), f"cannot read it ({exc.strerror})") from None
            text = decode_utf8(data, self.file(module))
            try:
                tree = None if text.startswith(GENERATED_MARK) else ast.parse(text, str(path))
            except SyntaxError as exc:
                raise Unreadable(
                    f"{self.file(module)}:{exc.lineno}:{exc.offset}", f"invalid Python: {exc.msg}"
                ) from None
            self.parsed[module] = tree
        return self.parsed[module]

    def is_package(self, module: str) -> bool:
        return self.path(module).name == "__init__.py"

    def child(self, module: str, name: str) -> str:
        return name if module == "__init__" else f"{module}.{name}"

    def own(self, dotted: str) -> str | None:
        """An absolute module name as a module of the package; ``None`` for another package's."""
        if dotted == self.name:
            return "__init__"
        return dotted.removeprefix(f"{self.name}.") if dotted.startswith(f"{self.name}.") else None

    def source_of(self, module: str, node: ast.ImportFrom) -> str | None:
        """The module ``from ... import`` in ``module`` imports from; ``None`` outside the package."""
        if node.level == 0:
            return self.own(node.module or "")
        parts = [] if module == "__init__" else module.split(".")
        parts = parts if self.is_package(module) else parts[:-1]
        if node.level - 1 > len(parts):
            return None
        parts = parts[: len(parts) - node.level + 1] + (node.module.split(".") if node.module else [])
        return ".".join(parts) or "__init__"

    def attribute(self, module: str, name: str, seen: frozenset[tuple[str, str]]) -> _Found:
        """What ``module.name`` is (``from module import name``): a submodule or a name bound there."""
        sub = self.child(module, name)
        if self.path(sub).is_file():
            return "module", sub, None
        if self.module(module) is None:
            return "generated", module, None
        found = self.lookup(module, name, seen)
        if found[0] == "unbound" and self.is_package(module):
            return "module", sub, None  # a submodule not generated yet
        return found

    def lookup(self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> _Found:
        """Where ``name`` in ``module`` comes from (see ``_Found``)."""
        if (module, name) in seen:
            return "other", module, None  # an import cycle: not a class of ours
        seen |= {(module, name)}
        tree = self.module(module)
        if tree is None:
            return "generated", module, None
        starred: list[str] = []
        for node in _statements(tree.body):
            if isinstance(node, ast.ClassDef) and node.name == name:
                return "hand", module, node
            if isinstance(node, ast.ImportFrom):
                source = self.source_of(module, node)
                for alias in node.names:
                    if alias.name == "*" and source is not None:
                        starred.append(source)
                    elif (alias.asname or alias.name) == name:
                        return ("other", module, None) if source is None else self.attribute(source, alias.name, seen)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if (alias.asname or alias.name.split(".")[0]) == name:
                        imported = self.own(alias.name if alias.asname else name)
                        return ("other", module, None) if imported is None else ("module", imported, None)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                return "other", module, None
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return "other", module, None
        for source in starred:
            found = self.lookup(source, name, seen)
            if found[0] != "unbound":
                return found
        return ("other", module, None) if name in dir(builtins) else ("unbound", module, None)

    def resolve(self, module: str, expr: ast.expr) -> _Found:
        """What an expression naming a class in ``module`` refers to: ``Name``, ``module.Name``, ``Name[...]``."""
        if isinstance(expr, ast.Name):
            return self.lookup(module, expr.id)
        if isinstance(expr, ast.Attribute):
            kind, where, _ = self.resolve(module, expr.value)
            if kind == "module":
                return self.attribute(where, expr.attr, frozenset())
            return (kind, where, None) if kind in ("generated", "unbound") else ("other", where, None)
        if isinstance(expr, ast.Subscript):  # a generic base, ``Base[T]``
            return self.resolve(module, expr.value)
        return "other", module, None

    def annotation(self, module: str, expr: ast.expr, owner: str, where: str = "") -> _Found:
        """What a client attribute's annotation names (a string annotation read as the expression it holds).

        A spelling that names a hand-written namespace class in a way this cannot follow (a union,
        ``Final[...]``), a string that is not an expression or a name neither defined nor imported is
        ``Unreadable``: guessing would give a wrong clash, or drop the helper's names from the checks.
        """
        where = where or f"{self.file(module)}:{expr.lineno}"
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:
                parsed = ast.parse(expr.value.strip(), mode="eval").body
            except SyntaxError:
                raise Unreadable(
                    where, f"the annotation of {owner}, {expr.value!r}, is not a Python expression"
                ) from None
            return self.annotation(module, parsed, owner, where)
        text = ast.unparse(expr)
        if isinstance(expr, ast.Name | ast.Attribute):
            found = self.resolve(module, expr)
            if found[0] == "unbound":
                name = Path(self.file(module)).name
                raise Unreadable(
                    where, f"the annotation of {owner}, {text}, names what {name} neither defines nor imports"
                )
            return found
        for sub in ast.walk(expr):
            if sub is not expr and isinstance(sub, ast.Name | ast.Attribute | ast.Constant):
                try:
                    _, at, cls = self.annotation(module, sub, owner, where)
                except Unreadable:
                    continue
                if cls is not None and self.names(at, cls)[1]:
                    raise Unreadable(
                        where,
                        f"the annotation of {owner}, {text}, names the hand-written {cls.name} in a form the "
                        f"generator cannot read; annotate it with {cls.name} alone",
                    )
        return "other", module, None

    def names(self, module: str, cls: ast.ClassDef) -> tuple[dict[str, str], bool]:
        """A class's names, its hand-written bases' included; and whether it derives from a generated class."""
        found: dict[str, str] = {}
        generated_base = False
        for base in cls.bases:
            kind, where, base_class = self.resolve(module, base)
            if base_class is not None:
                inherited, generated = self.names(where, base_class)
                found.update(inherited)
                generated_base |= generated
            generated_base |= kind == "generated"
        for node in cls.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {ast.unparse(d).rsplit(".", 1)[-1] for d in node.decorator_list}
                prop = decorators & {"property", "cached_property", "setter", "deleter"}
                found[node.name] = "a property" if prop else "a method"
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets if isinstance(node, ast.Assign | ast.AnnAssign) else []:
                if isinstance(target, ast.Name):
                    found[target.id] = "an attribute"
        for sub in ast.walk(cls):  # ``self.<name> = ...`` in any method: an instance attribute
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.ctx, ast.Store)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "self"
            ):
                found.setdefault(sub.attr, "an attribute")
        return found, generated_base


def hand_written(package: Path = PACKAGE) -> HandWritten:
    """The names ``DifyManagementClient`` and the hand-written namespaces it binds define, from their source.

    Read with ``ast`` rather than imported: the package imports the generated ``_resources`` and
    ``_models`` by name, so after a spec edit dropping a name the hand-written code uses it would not
    import, and ``make generate`` could not run again to repair it (a dependency on its own previous
    output). The source has every name: methods, properties, class attributes and ``self.<name> =``
    in any method (``base_url``, ``_core``), through hand-written base classes; a base from a
    generated module (``Namespaces``, ``DatasetsResource``) is the generator's own. The client is
    found from the package root's import of it. A client attribute annotated with a hand-written
    subclass of a generated class (``datasets: DatasetsNamespace``) is a namespace bound in place of
    the generated one: the attribute is its tag's, and the subclass's names are taken in it. Names are
    followed through relative and absolute imports of the package's own modules (``if TYPE_CHECKING:``
    included), ``module.Name`` and string annotations; source this cannot read, or an annotation it
    cannot follow, is ``Unreadable`` (one line naming the file).
    """
    sources = _Sources(package)
    _, module, client = sources.lookup("__init__", CLIENT_CLASS)
    if client is None:
        raise NameClash(sources.file("__init__"), f"no hand-written {CLIENT_CLASS} found to check names against")
    names, _ = sources.names(module, client)
    helpers: dict[str, tuple[str, str, dict[str, str]]] = {}
    for node in client.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            owner = f"{CLIENT_CLASS}.{node.target.id}"
            _, where, cls = sources.annotation(module, node.annotation, owner)
            if cls is not None:
                own, derived = sources.names(where, cls)
                if derived:
                    helpers[node.target.id] = (cls.name, sources.file(where), own)
                    names.pop(node.target.id, None)
    return HandWritten(names, sources.file(module), helpers)


def _not_a_name(name: str) -> str:
    return f"but {name} is a Python keyword" if keyword.iskeyword(name) else f"but {name!r} is not a Python name"


def check_names(spec: dict[str, Any], hand: HandWritten | None = None) -> None:
    """Raise ``NameClash`` (one line, naming the place) for the first Python name the spec would define twice.

    Run on the spec alone, before openapi-python-client or anything is written. Checked: an
    operationId used twice, also as its module (``getApp`` and ``get_app`` are both module ``get_app``:
    opc writes the second over the first in one tag, and ``_resources`` imports both as ``_get_app``,
    the second hiding the first, across tags); a tag whose attribute is a keyword or already the
    client's (``stats``, ``aclose``, ``base_url``: ``_bind_namespaces`` would overwrite it); two tags
    with one attribute or class (``Apps`` and ``apps``); two operations with one method name in a
    namespace, or one named like a hand-written helper there (``datasets.wait_for_indexing``, which
    the subclass would hide); and a namespace the client binds a hand-written subclass to, gone from
    the spec (the package would no longer import).
    """
    hand = hand or hand_written()
    client = f"{CLIENT_CLASS} ({hand.client_file})"
    tags: dict[str, tuple[str, str]] = {}  # attribute -> (tag, the first operation in it)
    classes: dict[str, str] = {}  # namespace class -> tag
    modules: dict[str, tuple[str, str]] = {}  # module -> (operationId, where)
    methods: dict[tuple[str, str], tuple[str, str]] = {}  # (attribute, method) -> (operationId, where)
    for path, http_method, op, _, tag in operations(spec):
        where = f"paths.{path}.{http_method}"
        op_id = op.get("operationId")
        if not op_id:
            raise Unsupported(where, "an operation without operationId")
        module = snake_case(op_id)
        if module in modules:
            first_id, first = modules[module]
            if first_id == op_id:
                raise NameClash(where, f"operationId {op_id!r} is already used by {first}; operationIds must be unique")
            raise NameClash(
                where, f"operationId {op_id!r} would be module {module}, as {first_id!r} of {first} is; rename one"
            )
        if not module.isidentifier() or keyword.iskeyword(module):
            raise NameClash(where, f"operationId {op_id!r} would be module {module}, {_not_a_name(module)}")
        modules[module] = (op_id, where)

        attr, cls = tag_names(tag)
        known = tags.get(attr)
        if known is None:
            if not attr.isidentifier() or keyword.iskeyword(attr):
                raise NameClash(where, f"tag {tag!r} would be dify.{attr}, {_not_a_name(attr)}; rename the tag")
            if attr in hand.client:
                raise NameClash(
                    where, f"tag {tag!r} would be dify.{attr}, already {hand.client[attr]} of {client}; rename the tag"
                )
            if cls in classes:
                raise NameClash(where, f"tag {tag!r} would be class {cls}, as tag {classes[cls]!r} is; rename one")
            tags[attr], classes[cls] = (tag, where), tag
        elif known[0] != tag:
            raise NameClash(where, f"tag {tag!r} would be dify.{attr}, as tag {known[0]!r} is; rename one")

        name = method_name(op, op_id)
        call = f"dify.{attr}.{name}"
        if not name.isidentifier():
            raise NameClash(where, f"operationId {op_id!r} would be {call}, {_not_a_name(name)}; set x-sdk-method")
        if (attr, name) in methods:
            first_id, first = methods[attr, name]
            raise NameClash(
                where, f"operationId {op_id!r} would be {call}, as {first_id!r} of {first} is; set another x-sdk-method"
            )
        helper, helper_file, helper_names = hand.helpers.get(attr, ("", "", {}))
        if name in helper_names:
            raise NameClash(
                where,
                f"operationId {op_id!r} would be {call}, already {helper_names[name]} of the hand-written "
                f"{helper} ({helper_file}); set another x-sdk-method",
            )
        methods[attr, name] = (op_id, where)
    for attr, (helper, helper_file, _) in hand.helpers.items():
        if attr not in tags:
            raise NameClash(
                "tags",
                f"no operation is tagged for dify.{attr}, which {client} binds to the hand-written {helper} "
                f"({helper_file}); keep the tag or change the client",
            )


def wrap(text: str, indent: int, width: int = 110) -> str:
    """Wrap prose for a docstring at ``indent`` spaces."""
    pad = " " * indent
    return textwrap.fill(text, width=width, initial_indent=pad, subsequent_indent=pad + "    " * (indent > 8))


def render(spec: dict[str, Any], opc_pkg: Path | None = None) -> tuple[str, str]:
    """The namespace layer and the response shapes module, as source."""
    ctx, namespaces = build(spec, opc_pkg)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["snake"] = snake_case
    env.filters["wrap"] = wrap
    resources = env.get_template("resources.py.jinja").render(
        namespaces=namespaces,
        models=sorted(ctx.imports_models),
        literals=dict(sorted(ctx.literals.items())),
        field_rules=dict(sorted(ctx.field_rules.items())),
        literal_alias=literal_alias,
        exported=sorted(
            [ns.class_name for ns in namespaces] + [literal_alias(c) for c in ctx.literals] + ["Namespaces"]
        ),
    )
    checks = shape_checks(ctx.shapes)
    shapes = env.get_template("shapes.py.jinja").render(
        shapes=dict(sorted(ctx.shapes.items())),
        constants=dict(sorted(checks.constants.items())),
        functions=checks.functions,
        entry=checks.entry,
    )
    return resources, shapes
