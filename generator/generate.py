"""Regenerate the SDK's generated code from ``openapi/management.yaml``.

One command (``make generate``) turns the hand-written spec into:

* ``src/dify_mgmt_async/_generated/``: httpx + attrs code from the pinned openapi-python-client,
  followed by the post-generation steps below;
* ``src/dify_mgmt_async/_resources.py``: the namespace layer (``dify.apps.create(...)``), rendered
  from ``generator/templates/`` by our own Jinja step that reads the spec and opc's output;
* ``src/dify_mgmt_async/_shapes.py``: every parsed answer's JSON shape, for response validation;
* ``src/dify_mgmt_async/_models.py``: every model by name in a literal ``__all__``, which the
  package root re-exports (pyright and Pylance accept a name only from a literal ``__all__`` of
  the package itself or of a direct submodule, not one reached through ``_generated``).

A construct the namespace layer cannot expose, a Python name the spec would define twice (checked
before opc runs) and a YAML syntax error each fail with one line naming the place in the spec.

opc runs with ``--custom-template-path``: ``generator/opc_templates/`` overrides a template only
where opc's output costs a call path CPU for nothing (a union whose members need no conversion is
read as a plain assignment, not through a function defined anew on every ``from_dict``).

Post-generation steps, each fixing something openapi-python-client 0.29.x gets wrong for us:

* ``fix_multipart_boundary``: opc hard-codes ``Content-Type: multipart/form-data; boundary=+++``,
  so a file containing ``\\r\\n--+++`` is cut short and can inject form fields. The header line is
  removed, so httpx frames the body with its own random boundary.
* ``redact_secrets``: properties with ``format: password`` (``api_secret``, a new key's ``token``)
  get ``repr=False`` so a logged model does not leak them.
* ``readable_unset``: ``UNSET`` reprs as ``UNSET`` so models print legibly;
* ``absent_as_none``: properties marked ``x-sdk-absent-as-none`` (the page envelopes' ``total``,
  ``page``, ``has_more``) are typed ``X | None`` and read as ``None`` when left out, not ``Unset``;
* a stamp module records the spec's sha256 and the generator version;
* every file gets a header saying it is generated; formatting is a pinned, isolated ruff.

``--check`` regenerates into a temporary folder and fails on any difference (``make check-generated``).
``--spec``/``--out`` let tests regenerate a modified spec elsewhere.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "management.yaml"
CONFIG = ROOT / "generator" / "config.yaml"
OPC_TEMPLATES = ROOT / "generator" / "opc_templates"
# opc templates ours wrap: each is copied unchanged beside ours as opc_<name>, for ours to import.
WRAPPED_TEMPLATES = ("property_templates/union_property.py.jinja",)
PACKAGE = ROOT / "src" / "dify_mgmt_async"
OPC_VERSION = "0.29.1"
HEADER = "# Generated from openapi/management.yaml by `make generate`. Do not edit by hand."
# Outputs, relative to the package folder: a folder and the files rendered beside it.
GENERATED_DIR = "_generated"
RENDERED_FILES: tuple[str, ...] = ("_resources.py", "_shapes.py", "_models.py")
RUFF_SETTINGS = ["--isolated", "--line-length", "120", "--target-version", "py311"]


MARK = "x-sdk-absent-as-none"


class GenerationError(RuntimeError):
    """The spec or the generator's output is not what the post-generation steps expect."""


def shown(path: Path) -> str:
    """A path as messages give it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def load_spec(path: Path) -> dict[str, Any]:
    """The parsed spec. A YAML error is one line, ``file:line:column: problem``, not PyYAML's traceback;
    so is text that is not UTF-8 (a spec saved as Latin-1), naming the first byte that is not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GenerationError(f"{shown(path)}: cannot read the spec ({exc.strerror})") from None
    namespaces = namespaces_module()
    try:
        text = namespaces.decode_utf8(data, shown(path))
    except namespaces.Unreadable as exc:
        raise GenerationError(str(exc)) from None
    try:
        spec = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{shown(path)}:{mark.line + 1}:{mark.column + 1}" if mark else shown(path)
        context = exc.context if exc.problem_mark else None  # (without a problem mark it is the message)
        if context and exc.context_mark:
            context += f" at {exc.context_mark.line + 1}:{exc.context_mark.column + 1}"
        problem = " ".join(str(exc.problem or exc.context).split())
        raise GenerationError(f"{place}: invalid YAML: {problem}{f' ({context})' if context else ''}") from None
    except yaml.YAMLError as exc:
        raise GenerationError(f"{shown(path)}: invalid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(spec, dict):
        raise GenerationError(f"{shown(path)} is not an OpenAPI document")
    return spec


def check_opc_version() -> None:
    found = importlib.metadata.version("openapi-python-client")
    if found != OPC_VERSION:
        raise GenerationError(
            f"openapi-python-client {found} is installed, {OPC_VERSION} is pinned: run `make install`"
        )


def opc_templates(workdir: Path) -> Path:
    """``--custom-template-path`` for opc: ``generator/opc_templates`` plus the opc templates they wrap."""
    import openapi_python_client

    templates = workdir / "templates"
    shutil.copytree(OPC_TEMPLATES, templates)
    installed = Path(openapi_python_client.__file__).parent / "templates"
    for name in WRAPPED_TEMPLATES:
        original = Path(name)
        shutil.copyfile(installed / original, templates / original.with_name(f"opc_{original.name}"))
    return templates


def run_opc(spec_path: Path, workdir: Path) -> Path:
    """Run openapi-python-client with our custom templates; return the generated package folder."""
    out = workdir / "opc"
    cmd = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(spec_path),
        "--config",
        str(CONFIG),
        "--custom-template-path",
        str(opc_templates(workdir)),
        "--meta",
        "none",
        "--fail-on-warning",
        "--overwrite",
        "--output-path",
        str(out),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GenerationError(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    return out


def fix_multipart_boundary(pkg: Path) -> int:
    """Drop opc's fixed ``boundary=+++`` header so httpx picks a random boundary. Returns files fixed."""
    pattern = re.compile(r'^\s*headers\["Content-Type"\] = "multipart/form-data; boundary=\+\+\+"\n', re.M)
    fixed = 0
    for path in sorted((pkg / "api").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "multipart" not in text:
            continue
        new, count = pattern.subn("", text)
        if count != 1:
            raise GenerationError(f"{path.name}: expected one fixed multipart boundary, found {count}")
        path.write_text(new, encoding="utf-8")
        fixed += 1
    return fixed


def secret_properties(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Schema name -> its properties declared ``format: password``."""
    found: dict[str, list[str]] = {}
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        for prop, prop_schema in (schema.get("properties") or {}).items():
            if isinstance(prop_schema, dict) and prop_schema.get("format") == "password":
                found.setdefault(name, []).append(prop)
    return found


def redact_secrets(pkg: Path, spec: dict[str, Any]) -> None:
    """Give every ``format: password`` attribute ``repr=False`` in its attrs class."""
    from openapi_python_client.strings import snake_case

    for schema, props in secret_properties(spec).items():
        path = pkg / "models" / f"{snake_case(schema)}.py"
        text = path.read_text(encoding="utf-8")
        for prop in props:
            line = re.compile(rf"^    {re.escape(prop)}: (?P<type>[^=\n]+?)(?: = (?P<default>UNSET))?$", re.M)
            match = line.search(text)
            if match is None:
                raise GenerationError(f"{path.name}: attribute {prop!r} not found to redact")
            default = "default=UNSET, " if match["default"] else ""
            text = text[: match.start()] + (
                f"    {prop}: {match['type']} = _attrs_field({default}repr=False)" + text[match.end() :]
            )
        path.write_text(text, encoding="utf-8")


def readable_unset(pkg: Path) -> None:
    """``UNSET`` prints as ``UNSET`` instead of ``<...Unset object at 0x...>`` in every model's repr."""
    path = pkg / "types.py"
    text = path.read_text(encoding="utf-8")
    anchor = "class Unset:\n"
    if text.count(anchor) != 1:
        raise GenerationError("types.py: class Unset not found")
    path.write_text(
        text.replace(anchor, anchor + '    def __repr__(self) -> str:\n        return "UNSET"\n\n'), encoding="utf-8"
    )


def absent_as_none(pkg: Path, spec: dict[str, Any]) -> int:
    """Type ``x-sdk-absent-as-none`` properties ``X | None``, read as ``None`` when absent. Returns files changed."""
    from openapi_python_client.strings import snake_case

    schemas = spec.get("components", {}).get("schemas", {})

    def marked(schema: dict[str, Any]) -> set[str]:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        names = {k for k, v in (schema.get("properties") or {}).items() if isinstance(v, dict) and v.get(MARK)}
        for part in schema.get("allOf") or []:
            names |= marked(part)
        return names - set(schema.get("required") or [])

    changed = 0
    for name, schema in schemas.items():
        props = marked(schema)
        path = pkg / "models" / f"{snake_case(name)}.py"
        if not props or not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for prop in sorted(props):
            p = re.escape(prop)
            rules = [
                (rf"^(    {p}: )(\w+) \| Unset = UNSET$", r"\1\2 | None = None"),
                (rf"^(\s+{p} \()(\w+) \| Unset\)", r"\1\2 | None)"),
                (rf'^(\s+{p} = d\.pop\("{p}", )UNSET\)$', r"\1None)"),
                (rf"^(\s+if {p} is not )UNSET:$", r"\1None:"),
            ]
            for pattern, replacement in rules:
                text, count = re.subn(pattern, replacement, text, flags=re.M)
                if count != 1:
                    raise GenerationError(f"{path.name}: {MARK} on {prop!r}: expected one {pattern!r}, found {count}")
        path.write_text(text, encoding="utf-8")
        changed += 1
    return changed


def write_stamp(pkg: Path, spec_path: Path) -> None:
    digest = hashlib.sha256(spec_path.read_bytes()).hexdigest()
    (pkg / "_stamp.py").write_text(
        '"""What this code was generated from."""\n\n'
        f'SPEC_SHA256 = "{digest}"\n'
        f'GENERATOR = "openapi-python-client=={OPC_VERSION}"\n',
        encoding="utf-8",
    )


def ruff_format(paths: list[Path]) -> None:
    """Fix imports and format with the pinned ruff, ignoring any ruff config on this machine."""
    targets = [str(p) for p in paths]
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run(
        [*ruff, "check", *RUFF_SETTINGS, "--fix-only", "--select", "F401,I", "--quiet", *targets],
        check=True,
    )
    subprocess.run([*ruff, "format", *RUFF_SETTINGS, "--quiet", *targets], check=True)


def add_headers(paths: list[Path]) -> None:
    for path in paths:
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            text = file.read_text(encoding="utf-8")
            if not text.startswith(HEADER):
                file.write_text(f"{HEADER}\n{text}", encoding="utf-8")


def build(spec_path: Path, dest: Path) -> None:
    """Generate everything from ``spec_path`` into the (empty) package-shaped folder ``dest``."""
    check_opc_version()
    spec = load_spec(spec_path)
    check_names(spec)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = run_opc(spec_path, Path(tmp))
        fix_multipart_boundary(pkg)
        redact_secrets(pkg, spec)
        readable_unset(pkg)
        absent_as_none(pkg, spec)
        write_stamp(pkg, spec_path)
        rendered = render_namespaces(spec, dest, pkg)
        shutil.copytree(pkg, dest / GENERATED_DIR)
    rendered.append(render_model_exports(dest))
    outputs = [dest / GENERATED_DIR, *rendered]
    ruff_format(outputs)
    add_headers(outputs)


def namespaces_module() -> Any:
    """``generator/namespaces.py`` (imported from here, as ``generator/`` need not be on ``sys.path``)."""
    sys.path.insert(0, str(ROOT / "generator"))
    try:
        import namespaces  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return namespaces


def check_names(spec: dict[str, Any]) -> None:
    """Stop on a Python name the spec would define twice (``namespaces.check_names``), before opc runs."""
    ns = namespaces_module()
    try:
        ns.check_names(spec)
    except (ns.Unsupported, ns.NameClash, ns.Unreadable) as exc:
        raise GenerationError(str(exc)) from None


def render_namespaces(spec: dict[str, Any], dest: Path, opc_pkg: Path) -> list[Path]:
    """Render the namespace layer and the shapes beside ``_generated``; returns the files written."""
    ns = namespaces_module()
    try:
        resources, shapes = ns.render(spec, opc_pkg)
    except (ns.Unsupported, ns.NameClash, ns.Unreadable) as exc:
        raise GenerationError(str(exc)) from None
    dest.mkdir(parents=True, exist_ok=True)
    written = [dest / "_resources.py", dest / "_shapes.py"]
    for path, text in zip(written, (resources, shapes), strict=True):
        path.write_text(text, encoding="utf-8")
    return written


def render_model_exports(dest: Path) -> Path:
    """Write ``_models.py``: the generated models' names, listed literally for type checkers."""
    source = (dest / GENERATED_DIR / "models" / "__init__.py").read_text(encoding="utf-8")
    names = sorted(re.findall(r"^from \.[a-z0-9_]+ import (\w+)$", source, flags=re.M))
    if not names:
        raise GenerationError("no models found in _generated/models/__init__.py")
    out = dest / "_models.py"
    out.write_text(
        '"""Every schema of the spec, as the public model the package root re-exports."""\n\n'
        f"from ._generated.models import {', '.join(names)}\n\n"
        f"__all__ = [{', '.join(repr(n) for n in names)}]\n",
        encoding="utf-8",
    )
    return out


def outputs_of(root: Path) -> list[Path]:
    """Every generated file under a package-shaped folder, relative to it."""
    files = [p.relative_to(root) for p in sorted((root / GENERATED_DIR).rglob("*")) if p.is_file()]
    files += [Path(name) for name in RENDERED_FILES if (root / name).exists()]
    return [f for f in files if "__pycache__" not in f.parts]


def diff_trees(expected: Path, actual: Path) -> list[str]:
    """Human-readable differences between two package-shaped folders' generated files."""
    problems: list[str] = []
    want, have = set(outputs_of(expected)), set(outputs_of(actual))
    problems += [f"missing: {p}" for p in sorted(want - have)]
    problems += [f"not generated (stale): {p}" for p in sorted(have - want)]
    for rel in sorted(want & have):
        a, b = expected / rel, actual / rel
        if not filecmp.cmp(a, b, shallow=False):
            lines = difflib.unified_diff(
                b.read_text(encoding="utf-8").splitlines(),
                a.read_text(encoding="utf-8").splitlines(),
                f"committed/{rel}",
                f"regenerated/{rel}",
                lineterm="",
                n=1,
            )
            problems.append("\n".join(list(lines)[:40]))
    return problems


def install(src: Path, package: Path) -> None:
    """Replace the package's generated files with those in ``src``, deleting what was there."""
    shutil.rmtree(package / GENERATED_DIR, ignore_errors=True)
    shutil.copytree(src / GENERATED_DIR, package / GENERATED_DIR)
    for name in RENDERED_FILES:
        if (src / name).exists():
            shutil.copyfile(src / name, package / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI document (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=PACKAGE, help="package folder to write into")
    parser.add_argument("--check", action="store_true", help="fail if the committed code differs from a fresh run")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp)
            build(args.spec.resolve(), fresh)
            if args.check:
                problems = diff_trees(fresh, args.out)
                if problems:
                    print("Generated code differs from `make generate` output:", file=sys.stderr)
                    print("\n".join(problems), file=sys.stderr)
                    print("Run `make generate` and commit the result.", file=sys.stderr)
                    return 1
                print(f"generated code is up to date ({len(outputs_of(fresh))} files)")
                return 0
            args.out.mkdir(parents=True, exist_ok=True)
            install(fresh, args.out)
            print(f"generated {len(outputs_of(fresh))} files into {args.out}")
            return 0
    except GenerationError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
