"""Generate the typed SDK the model's code uses: TypeScript declarations and the JS runtime client.

The declarations are what `search` shows the model; the runtime is what the sandbox runs. The
runtime only maps method names onto the runner's `call` (the api-proxy owns the mapping to method
and path), so only the declarations depend on the schemas. Output is deterministic:
same spec in, same text out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcp_server.openapi.loading import ApiSpec, Operation, Schema, load_spec, resolve

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SCHEMA_REF = "#/components/schemas/"
_MAX_INLINE_DEPTH = 8  # non-schema refs are inlined; this bounds pathological nesting


def _pascal(name: str) -> str:
    words = [word for word in re.split(r"[^A-Za-z0-9]+", name) if word]
    joined = "".join(word[:1].upper() + word[1:] for word in words) or "Schema"
    return joined if joined[0].isalpha() else f"T{joined}"


def _type_names(schemas: Mapping[str, Schema]) -> dict[str, str]:
    """Map component schema names to unique TS type names (koyeb uses dotted names)."""
    names: dict[str, str] = {}
    taken: set[str] = {"Api", "ApiError"}
    for original in sorted(schemas):
        candidate = base = _pascal(original)
        suffix = 2
        while candidate in taken:
            candidate, suffix = f"{base}{suffix}", suffix + 1
        taken.add(candidate)
        names[original] = candidate
    return names


def _property_key(name: str) -> str:
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def _comment(text: str, indent: str) -> str:
    if not text.strip():
        return ""
    body = text.strip().replace("*/", "*\\/").splitlines()
    lines = "\n".join(f"{indent} * {line}".rstrip() for line in body)
    return f"{indent}/**\n{lines}\n{indent} */\n"


class TypeRenderer:
    """Render JSON Schema (OpenAPI 3.0 and 3.1 flavours) as TypeScript type expressions."""

    def __init__(self, spec: ApiSpec) -> None:
        self.document = spec.document
        self.type_names = _type_names(spec.schemas)

    def render(self, schema: Any, indent: str = "", depth: int = 0) -> str:
        if not isinstance(schema, dict) or depth > _MAX_INLINE_DEPTH:
            return "unknown"
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = ref.removeprefix(_SCHEMA_REF)
            if ref.startswith(_SCHEMA_REF) and target in self.type_names:
                return self.nullable(schema, self.type_names[target])
            return self.render(resolve(self.document, schema), indent, depth + 1)
        return self.nullable(schema, self._structural(schema, indent, depth))

    def nullable(self, schema: Schema, rendered: str) -> str:
        return f"{rendered} | null" if schema.get("nullable") is True else rendered

    def _structural(self, schema: Schema, indent: str, depth: int) -> str:
        if "const" in schema:
            return json.dumps(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return " | ".join(json.dumps(value) for value in schema["enum"])
        for keyword, joiner in (("allOf", " & "), ("oneOf", " | "), ("anyOf", " | ")):
            parts = schema.get(keyword)
            if isinstance(parts, list) and parts:
                rendered = [f"({self.render(part, indent, depth + 1)})" for part in parts]
                return joiner.join(dict.fromkeys(rendered))
        kind = schema.get("type")
        if isinstance(kind, list):
            variants = [self._structural({**schema, "type": item}, indent, depth) for item in kind]
            return " | ".join(dict.fromkeys(variants)) or "unknown"
        if kind == "null":
            return "null"
        if kind in ("integer", "number"):
            return "number"
        if kind == "string":
            return "string"
        if kind == "boolean":
            return "boolean"
        if kind == "array" or "items" in schema:
            return f"Array<{self.render(schema.get('items', {}), indent, depth + 1)}>"
        if kind == "object" or "properties" in schema or "additionalProperties" in schema:
            return self._object(schema, indent, depth)
        return "unknown"

    def _object(self, schema: Schema, indent: str, depth: int) -> str:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        extra = schema.get("additionalProperties")
        if not properties:
            value = self.render(extra, indent, depth + 1) if isinstance(extra, dict) else "unknown"
            return f"Record<string, {value}>"
        required = set(schema.get("required") or ())
        inner = indent + "  "
        lines = ["{"]
        for name, prop in properties.items():
            doc = prop.get("description", "") if isinstance(prop, dict) else ""
            optional = "" if name in required else "?"
            lines.append(
                f"{_comment(doc, inner)}{inner}{_property_key(name)}{optional}: "
                f"{self.render(prop, inner, depth + 1)};"
            )
        if extra not in (None, False):
            # Index signatures must admit every declared property type, hence unknown.
            lines.append(f"{inner}[key: string]: unknown;")
        lines.append(f"{indent}}}")
        return "\n".join(lines)


def _shallow(renderer: TypeRenderer, schema: Any, depth: int = 0) -> str:
    """A type without its insides: named types by name, inline objects as `{…}`."""
    if not isinstance(schema, dict) or depth > 3:
        return "unknown"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = ref.removeprefix(_SCHEMA_REF)
        if ref.startswith(_SCHEMA_REF) and target in renderer.type_names:
            return renderer.type_names[target]
        return _shallow(renderer, resolve(renderer.document, schema), depth + 1)
    if schema.get("type") == "array" or "items" in schema:
        return f"Array<{_shallow(renderer, schema.get('items'), depth + 1)}>"
    if isinstance(schema.get("properties"), dict) and schema["properties"]:
        return "{…}"
    for keyword in ("allOf", "oneOf", "anyOf"):
        if isinstance(schema.get(keyword), list) and schema[keyword]:
            joiner = " & " if keyword == "allOf" else " | "
            parts = [_shallow(renderer, part, depth + 1) for part in schema[keyword]]
            return renderer.nullable(schema, joiner.join(dict.fromkeys(parts)))
    return renderer.render(schema)


def _object_fields(renderer: TypeRenderer, schema: Any, depth: int = 0) -> dict[str, Any]:
    """Properties of an object schema, through `$ref` and `allOf`."""
    schema = resolve(renderer.document, schema)
    if not isinstance(schema, dict) or depth > 4:
        return {}
    fields = (
        dict(schema.get("properties") or {}) if isinstance(schema.get("properties"), dict) else {}
    )
    for part in schema.get("allOf") or ():
        fields = {**_object_fields(renderer, part, depth + 1), **fields}
    return fields


def result_fields(renderer: TypeRenderer, operation: Operation, budget: int) -> str:
    """What the result holds, one level deep with each field's doc, in at most `budget` chars.

    `Promise<Deployment>` alone leaves the model guessing `id`, `status`, `url`; this lists
    them. Arrays list their element's fields.
    """
    schema: Any = operation.response_schema
    if schema is None:
        return ""
    prefix = ""
    resolved = resolve(renderer.document, schema)
    if isinstance(resolved, dict) and (resolved.get("type") == "array" or "items" in resolved):
        prefix, schema = "each item: ", resolved.get("items")
    fields = _object_fields(renderer, schema)
    if len(fields) == 1 and _object_fields(renderer, next(iter(fields.values()))):
        # An envelope (`{service: Service}`): what the model needs is the inside.
        name, inner = next(iter(fields.items()))
        prefix, schema = f"{prefix}{_shallow(renderer, schema)}.{name}: ", inner
        fields = _object_fields(renderer, schema)
    if not fields:
        return ""
    required = set(resolve(renderer.document, schema).get("required") or ())
    lines = [f"{prefix}{_shallow(renderer, schema)} {{"]
    used = len(lines[0]) + 2
    for position, (name, prop) in enumerate(fields.items()):
        doc = (
            resolve(renderer.document, prop).get("description", "")
            if isinstance(prop, dict)
            else ""
        )
        doc = " ".join(str(doc).split())
        line = (
            f"  {_property_key(name)}{'' if name in required else '?'}: {_shallow(renderer, prop)};"
        )
        if doc:
            line += f" // {doc[:120]}{'…' if len(doc) > 120 else ''}"
        if used + len(line) + 1 + len("  // …999 more fields\n") > budget:
            lines.append(f"  // …{len(fields) - position} more fields")
            break
        lines.append(line)
        used += len(line) + 1
    lines.append("}")
    return "\n".join(lines)


def params_type(renderer: TypeRenderer, operation: Operation, indent: str = "") -> str:
    """The single `params` object of `api.<name>(params)`: parameters by name, plus `body`."""
    inner = indent + "  "
    lines = ["{"]
    seen: set[str] = set()
    for param in operation.parameters:
        if param.name in seen:
            continue
        seen.add(param.name)
        optional = "" if param.required else "?"
        lines.append(
            f"{_comment(param.description, inner)}{inner}{_property_key(param.name)}{optional}: "
            f"{renderer.render(param.schema, inner)};"
        )
    if operation.body_schema is not None and "body" not in seen:
        optional = "" if operation.body_required else "?"
        lines.append(f"{inner}body{optional}: {renderer.render(operation.body_schema, inner)};")
    lines.append(f"{indent}}}")
    return "\n".join(lines) if len(lines) > 2 else "Record<string, never>"


def _params_optional(operation: Operation) -> bool:
    return not operation.body_required and not any(p.required for p in operation.parameters)


def signature(renderer: TypeRenderer, operation: Operation, indent: str = "") -> str:
    """`name(params): Promise<T>;` with its doc comment, as shown in search results."""
    optional = "?" if _params_optional(operation) else ""
    result = (
        renderer.render(operation.response_schema, indent)
        if operation.response_schema is not None
        else "unknown"
    )
    doc = operation.doc + (f"\n@see {operation.method.upper()} {operation.path}")
    return (
        f"{_comment(doc, indent)}{indent}{operation.name}(params{optional}: "
        f"{params_type(renderer, operation, indent)}): Promise<{result}>;"
    )


_PRELUDE = """\
/** Thrown when the backend answers 4xx (global in Code Mode): `err instanceof ApiError`. */
export declare class ApiError extends Error {
  readonly name: "ApiError";
  /** HTTP status the backend answered. */
  readonly status: number;
  /** The operation that failed. */
  readonly operationId: string;
  /** The backend's error body. */
  readonly body: unknown;
}
/**
 * Wait `ms` milliseconds (global in Code Mode). Waiting is free, and so is polling: a repeated
 * read of the same resource is not charged to the API-call cap (it is paced to one a second).
 */
export declare function sleep(ms: number): Promise<void>;
"""


def declarations(spec: ApiSpec) -> str:
    """The `.d.ts` text for the whole API: component types, then `interface Api`."""
    renderer = TypeRenderer(spec)
    parts = [f"// Typed SDK for {spec.title}. Generated from its OpenAPI document.\n", _PRELUDE]
    for original in sorted(spec.schemas):
        schema = spec.schemas[original]
        doc = schema.get("description", "") if isinstance(schema, dict) else ""
        parts.append(
            f"{_comment(doc, '')}export type {renderer.type_names[original]} = "
            f"{renderer.render(schema)};\n"
        )
    parts.append("export interface Api {\n")
    for operation in sorted(spec.operations, key=lambda op: op.name):
        parts.append(signature(renderer, operation, "  ") + "\n")
    parts.append("}\n/** The client bound in Code Mode. */\nexport declare const api: Api;\n")
    return "".join(parts)


def runtime_client(spec: ApiSpec) -> str:
    """The SDK module the sandbox imports (docs/contracts.md section 2).

    `call` is the runner's transport to the api-proxy (it holds the capability token and throws
    `ApiError`); the client maps each operation onto it, and turns a call of an operation that
    does not exist into a TypeError that points the model back to search.
    """
    names = sorted(operation.name for operation in spec.operations)
    return (
        "// Code Mode runtime client: every call goes through `call` to the api-proxy.\n"
        f"const OPERATIONS = {json.dumps(names)};\n" + _RUNTIME_BODY
    )


_RUNTIME_BODY = """\
export function createClient(call) {
  const client = {};
  for (const name of OPERATIONS) {
    client[name] = (params) => call(name, params ?? {});
  }
  return new Proxy(Object.freeze(client), {
    get(target, name) {
      if (typeof name !== "string" || name in target || name === "then") return target[name];
      throw new TypeError(`api.${name} is not an operation of this API; use the search tool`);
    },
  });
}
"""


def main(argv: list[str] | None = None) -> int:
    """Print the SDK of a spec: `python -m mcp_server.openapi.typescript SPEC [--runtime]`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", type=Path)
    parser.add_argument("--runtime", action="store_true", help="the runtime client, not the .d.ts")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    sys.stdout.write(runtime_client(spec) if args.runtime else declarations(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
