"""Breaking changes between two versions of ``openapi/management.yaml`` (``make spec-diff``).

Compares the working spec with the one committed at a git ref (``HEAD`` unless ``BASE=`` is given)
and prints one line per breaking change, so whoever regenerates knows what the CHANGELOG must say
and which version part to bump (see docs/architecture.md). No OpenAPI diff tool on PyPI or npm was
both well kept and installable offline here, so this is a small comparison over the parsed specs:

* an operation removed;
* a request field or parameter removed, or newly required;
* a response field removed, or no longer required (callers read it without checks);
* a type narrowed: fewer JSON types, fewer enum values, a tighter minimum/maximum/length/pattern.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from generate import GenerationError, load_spec  # type: ignore[import-not-found]  # (generator/ is on the path)

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "management.yaml"
METHODS = ("get", "put", "post", "patch", "delete")
TIGHTER = {"minimum": 1, "exclusiveMinimum": 1, "minLength": 1, "maximum": -1, "exclusiveMaximum": -1, "maxLength": -1}


class Specs:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: list[str] = []

    def resolve(self, spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            for part in parts:
                spec = spec[part]
            node = spec
        return node if isinstance(node, dict) else {}

    def props(self, spec: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        schema = self.resolve(spec, schema)
        props = dict(schema.get("properties") or {})
        required = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            p, r = self.props(spec, part)
            props.update(p)
            required |= r
        return props, required

    def narrowed(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        old, new = self.resolve(self.old, old), self.resolve(self.new, new)

        def types(s: dict[str, Any]) -> set[str]:
            t = s.get("type")
            found = set(t) if isinstance(t, list) else {t} if t else set()
            return found | {"integer"} if "number" in found else found  # a number includes the integers

        if types(old) and types(new) and not types(old) <= types(new):
            self.changes.append(f"{where}: type narrowed from {sorted(types(old))} to {sorted(types(new))}")
        if "enum" in new and set(old.get("enum") or [None]) - set(new["enum"]):
            lost = sorted(map(str, set(old.get("enum") or []) - set(new["enum"]))) or ["any value"]
            self.changes.append(f"{where}: enum no longer accepts {', '.join(lost)}")
        for key, sign in TIGHTER.items() if "enum" not in old else ():  # an enum was tighter still
            if key in new and (key not in old or (new[key] - old[key]) * sign > 0):
                self.changes.append(f"{where}: {key} tightened from {old.get(key, 'none')} to {new[key]}")
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            self.changes.append(f"{where}: pattern changed to {new['pattern']!r}")

    def request_fields(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        (op, oreq), (np, nreq) = self.props(self.old, old), self.props(self.new, new)
        for name in sorted(set(op) - set(np)):
            self.changes.append(f"{where}.{name}: request field removed")
        for name in sorted((nreq - oreq) & set(np)):
            self.changes.append(f"{where}.{name}: request field is now required")
        for name in sorted(set(op) & set(np)):
            self.narrowed(f"{where}.{name}", op[name], np[name])

    def response_fields(self, where: str, old: dict[str, Any], new: dict[str, Any], depth: int = 0) -> None:
        (op, oreq), (np, nreq) = self.props(self.old, old), self.props(self.new, new)
        for name in sorted(set(op) - set(np)):
            self.changes.append(f"{where}.{name}: response field removed")
        for name in sorted((oreq - nreq) & set(np)):
            self.changes.append(f"{where}.{name}: response field no longer required")
        for name in sorted(set(op) & set(np)):
            o, n = self.resolve(self.old, op[name]), self.resolve(self.new, np[name])
            if depth < 4 and o.get("type") == "array" and n.get("type") == "array":
                self.response_fields(f"{where}.{name}[]", o.get("items") or {}, n.get("items") or {}, depth + 1)

    def compare(self) -> list[str]:
        for path, item in (self.old.get("paths") or {}).items():
            for method in METHODS:
                if method not in item:
                    continue
                where = f"{method.upper()} {path}"
                new_item = (self.new.get("paths") or {}).get(path) or {}
                if method not in new_item:
                    self.changes.append(f"{where}: operation removed ({item[method].get('operationId')})")
                    continue
                self.operation(where, item, item[method], new_item, new_item[method])
        return self.changes

    def params(self, spec: dict[str, Any], item: dict[str, Any], op: dict[str, Any]) -> dict[tuple[str, str], Any]:
        found = [self.resolve(spec, p) for p in [*(item.get("parameters") or []), *(op.get("parameters") or [])]]
        return {(p["in"], p["name"]): p for p in found}

    def operation(
        self, where: str, oi: dict[str, Any], old: dict[str, Any], ni: dict[str, Any], new: dict[str, Any]
    ) -> None:
        op, np = self.params(self.old, oi, old), self.params(self.new, ni, new)
        for key in sorted(set(op) - set(np)):
            self.changes.append(f"{where}: {key[0]} parameter {key[1]} removed")
        for key in sorted(set(np) - set(op)):
            if np[key].get("required"):
                self.changes.append(f"{where}: new required {key[0]} parameter {key[1]}")
        for key in sorted(set(op) & set(np)):
            if np[key].get("required") and not op[key].get("required"):
                self.changes.append(f"{where}: {key[0]} parameter {key[1]} is now required")
            self.narrowed(
                f"{where}: {key[0]} parameter {key[1]}", op[key].get("schema") or {}, np[key].get("schema") or {}
            )
        for media in ("application/json", "multipart/form-data"):
            ob = ((old.get("requestBody") or {}).get("content") or {}).get(media)
            nb = ((new.get("requestBody") or {}).get("content") or {}).get(media)
            if ob and nb:
                self.request_fields(f"{where} body", ob.get("schema") or {}, nb.get("schema") or {})
        for code, response in (old.get("responses") or {}).items():
            if not str(code).startswith("2"):
                continue
            new_response = (new.get("responses") or {}).get(code)
            if new_response is None:
                self.changes.append(f"{where}: {code} answer removed")
                continue
            oc = (self.resolve(self.old, response).get("content") or {}).get("application/json")
            nc = (self.resolve(self.new, new_response).get("content") or {}).get("application/json")
            if oc and nc:
                self.response_fields(f"{where} {code}", oc.get("schema") or {}, nc.get("schema") or {})


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return Specs(old, new).compare()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git ref of the spec to compare with (default: HEAD)")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the working spec (default: %(default)s)")
    args = parser.parse_args(argv)
    rel = SPEC.relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f"{args.base}:{rel}"], capture_output=True, text=True, cwd=ROOT, check=False)
    if shown.returncode != 0:
        print(f"spec-diff: cannot read {rel} at {args.base}: {shown.stderr.strip()}", file=sys.stderr)
        return 2
    try:
        new = load_spec(args.spec)  # a YAML typo: one line naming the place, as `make generate` gives it
        old = yaml.safe_load(shown.stdout)
    except GenerationError as exc:
        print(f"spec-diff: {exc}", file=sys.stderr)
        return 2
    except yaml.YAMLError as exc:
        print(f"spec-diff: {rel} at {args.base}: invalid YAML: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    changes = breaking_changes(old, new)
    if not changes:
        print(f"spec-diff: no breaking changes against {args.base}")
        return 0
    print(f"spec-diff: {len(changes)} breaking change(s) against {args.base} (a major bump; say each in CHANGELOG):")
    for line in changes:
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
