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
"""

from __future__ import annotations

import keyword
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from openapi_python_client.strings import PythonIdentifier, pascal_case, snake_case

TEMPLATES = Path(__file__).resolve().parent / "templates"
ID_SCHEMA = "#/components/schemas/Id"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


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
    ctx: Context, label: str, schema: dict[str, Any], owner: str, *, path: bool = False
) -> tuple[str, str, str]:
    """(annotation, checker function, its keyword arguments as source) for one value.

    Checkers live in ``_validation`` and are called as ``f(label, value, required=..., **extras)``;
    ``ident`` (path segments, always required) takes no ``required``.
    """
    if path:  # a path segment: ids also as UUID; never empty, "." or ".."
        return ("str | UUID" if schema.get("$ref") == ID_SCHEMA else "str"), "_v.ident", ""
    resolved, ref = ctx.resolve(schema)
    if "enum" in resolved:
        assert ref is not None, f"{label}: enums must be components so they have a class"
        cls = pascal_case(ref)
        ctx.imports_models.add(cls)
        ctx.literals[cls] = [str(v) for v in resolved["enum"]]
        return f"{cls} | {literal_alias(cls)}", "_v.choice", f"enum={cls}"
    kind = resolved.get("type")
    if kind == "object":
        cls = pascal_case(ref) if ref else pascal_case(f"{owner}_{label}")
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
    if kind == "integer" and resolved.get("x-sdk-timestamp") == "future":
        return "int | datetime", "_v.future_timestamp", ""
    if kind == "integer":
        for key in ("minimum", "maximum"):
            if key in resolved:
                bounds.append(f"{key}={resolved[key]!r}")
        return "int", "_v.integer", ", ".join(bounds)
    if kind == "boolean":
        return "bool", "_v.boolean", ""
    raise ValueError(f"{owner}.{label}: no SDK mapping for schema {resolved!r}")


def make_arg(
    ctx: Context, wire: str, schema: dict[str, Any], required: bool, owner: str, *, path: bool = False, doc: str = ""
) -> Arg:
    name = py_name(wire)
    annotation, func, extras = checker(ctx, wire, schema, owner, path=path)
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
    return {code: r for code, r in op["responses"].items() if str(code).startswith("2")}


def response_class(ctx: Context, op: dict[str, Any]) -> str:
    """The one model every documented 2xx answer parses to, or ``None`` for no-content answers."""
    classes: set[str] = set()
    for response in success_responses(op).values():
        if "$ref" in response:
            response = ctx.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        content = response.get("content") or {}
        if "application/json" in content:
            _, ref = ctx.resolve(content["application/json"]["schema"])
            assert ref, "2xx bodies must be components"
            classes.add(pascal_case(ref))
    if not classes:
        return "None"
    assert len(classes) == 1, f"{op['operationId']}: 2xx answers parse to {classes}"
    return classes.pop()


def has_no_content(op: dict[str, Any]) -> bool:
    return "204" in success_responses(op)


def build_method(ctx: Context, path: str, http_method: str, op: dict[str, Any], path_item: dict[str, Any]) -> Method:
    op_id = op["operationId"]
    method = Method(
        name=op.get("x-sdk-method", op_id),
        operation_id=op_id,
        module_alias=f"_{op_id}",
        http_method=http_method.upper(),
        path=path,
        summary=op.get("summary", op_id),
        description=" ".join(str(op.get("description", "")).split()),
    )
    params = [
        ctx.spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
        for p in [*path_item.get("parameters", []), *op.get("parameters", [])]
    ]
    path_params = {p["name"]: p for p in params if p["in"] == "path"}
    # Positional path arguments in the order they appear in the path template.
    for segment in path.split("/"):
        if segment.startswith("{"):
            p = path_params[segment[1:-1]]
            method.path_args.append(
                make_arg(ctx, p["name"], p["schema"], True, op_id, path=True, doc=p.get("description", ""))
            )
    for p in params:
        if p["in"] == "query":
            method.kw_args.append(
                make_arg(ctx, p["name"], p["schema"], bool(p.get("required")), op_id, doc=p.get("description", ""))
            )

    body = (op.get("requestBody") or {}).get("content") or {}
    if "application/json" in body:
        _, body_ref = ctx.resolve(body["application/json"]["schema"])
        assert body_ref, f"{op_id}: JSON bodies must be components"
        method.body_class = pascal_case(body_ref)
        method.body_built_from_args = True
        ctx.imports_models.add(method.body_class)
        props, required = ctx.properties(body["application/json"]["schema"])
        args = [make_arg(ctx, wire, s, wire in required, method.body_class) for wire, s in props.items()]
        method.kw_args += sorted(args, key=lambda a: not a.required)
    elif "multipart/form-data" in body:
        media = body["multipart/form-data"]
        _, body_ref = ctx.resolve(media["schema"])
        assert body_ref, f"{op_id}: multipart bodies must be components"
        method.kind = "upload"
        method.body_class = pascal_case(body_ref)
        ctx.imports_models.add(method.body_class)
        props, _ = ctx.properties(media["schema"])
        encoding = media.get("encoding") or {}
        for wire, s in props.items():
            if ctx.resolve(s)[0].get("format") == "binary":
                method.file_field = wire
                continue
            arg = make_arg(ctx, wire, s, False, method.body_class)
            method.kw_args.append(arg)
            content_type = (encoding.get(wire) or {}).get("contentType", "text/plain")
            method.form_parts.append((wire, content_type, arg.check))
        assert method.file_field, f"{op_id}: a multipart upload needs one binary property"

    method.expect = response_class(ctx, op)
    if method.expect != "None":
        ctx.imports_models.add(method.expect)
    if has_no_content(op):
        method.expect = "None"  # a delete answers 200 {result} or 204: either way the caller gets None
    method.returns = method.expect

    if op.get("x-sdk-pagination") == "page":
        method.kind = "paginate"
        page_schema = ctx.spec["components"]["schemas"][method.expect]
        props, _ = ctx.properties(page_schema)
        _, item_ref = ctx.resolve(props["data"]["items"])
        assert item_ref
        method.page_type, method.item_type = method.expect, pascal_case(item_ref)
        ctx.imports_models.add(method.item_type)
        method.returns = f"AsyncPager[{method.page_type}, {method.item_type}]"
    return method


def build(spec: dict[str, Any]) -> tuple[Context, list[Namespace]]:
    ctx = Context(spec)
    namespaces: dict[str, Namespace] = {}
    for tag in spec.get("tags", []):
        namespaces[tag["name"]] = Namespace(
            tag["name"], f"{pascal_case(tag['name'])}Resource", " ".join(tag.get("description", "").split())
        )
    for path, item in spec["paths"].items():
        for http_method in HTTP_METHODS:
            if http_method not in item:
                continue
            op = item[http_method]
            tag = op["tags"][0]
            ns = namespaces.setdefault(tag, Namespace(tag, f"{pascal_case(tag)}Resource", ""))
            ns.methods.append(build_method(ctx, path, http_method, op, item))
    return ctx, [ns for ns in namespaces.values() if ns.methods]


def wrap(text: str, indent: int, width: int = 110) -> str:
    """Wrap prose for a docstring at ``indent`` spaces."""
    pad = " " * indent
    return textwrap.fill(text, width=width, initial_indent=pad, subsequent_indent=pad + "    " * (indent > 8))


def render(spec: dict[str, Any]) -> str:
    ctx, namespaces = build(spec)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["snake"] = snake_case
    env.filters["wrap"] = wrap
    return env.get_template("resources.py.jinja").render(
        namespaces=namespaces,
        models=sorted(ctx.imports_models),
        literals=dict(sorted(ctx.literals.items())),
        field_rules=dict(sorted(ctx.field_rules.items())),
        literal_alias=literal_alias,
        exported=sorted(
            [ns.class_name for ns in namespaces] + [literal_alias(c) for c in ctx.literals] + ["Namespaces"]
        ),
    )
