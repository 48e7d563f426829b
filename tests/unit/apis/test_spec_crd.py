"""The CRD's schema and the models of `apis/spec.py` say the same: walked side by side.

Both are written by hand (the CRD carries CEL rules and descriptions no generator writes), so
this test keeps them in step: the same fields, required fields, defaults, enums, numeric bounds
(including the durations' bounds in CEL rules) and list lengths. Not compared: string lengths
and patterns, and cross-field rules (CEL in the CRD, validators in the models); the API server
applies them before the operator reads a rollout.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import pytest
import yaml
from codemode_operator.apis.duration import parse_duration
from codemode_operator.apis.model import CrdModel
from codemode_operator.apis.spec import RolloutSpec
from pydantic import TypeAdapter
from pydantic.fields import FieldInfo

CRD = Path(__file__).resolve().parents[3] / "crds" / "codemoderollouts.codemode.io.yaml"
_DURATION_BOUND = re.compile(r"duration\(self\) (>=|<=) duration\('([^']+)'\)")
_BOUNDS = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}
# What an absent field means where the CRD gives no default: the empty value of its type.
_EMPTY = {"object": {}, "array": [], "string": "", "boolean": False}


def _spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    [version] = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]


def crd_bounds(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The bounds of one CRD property, in pydantic's words."""
    bounds: dict[str, Any] = {}
    if "minimum" in schema:
        bounds["gt" if schema.get("exclusiveMinimum") else "ge"] = schema["minimum"]
    if "maximum" in schema:
        bounds["lt" if schema.get("exclusiveMaximum") else "le"] = schema["maximum"]
    if "minItems" in schema:
        bounds["min_length"] = schema["minItems"]
    if "maxItems" in schema:
        bounds["max_length"] = schema["maxItems"]
    for rule in schema.get("x-kubernetes-validations", []):
        for operator, text in _DURATION_BOUND.findall(rule["rule"]):
            bounds["ge" if operator == ">=" else "le"] = parse_duration(text)
    return bounds


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type without `| None` and `Annotated`, and the metadata gathered on the way."""
    while True:
        if typing.get_origin(annotation) is Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata = [*metadata, *extra]
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            [annotation] = [a for a in typing.get_args(annotation) if a is not type(None)]
        else:
            return annotation, metadata


def model_bounds(metadata: list[Any]) -> dict[str, Any]:
    bounds = {}
    for item in metadata:
        entries = item.metadata if isinstance(item, FieldInfo) else [item]
        for entry in entries:
            if type(entry) in _BOUNDS:
                name = _BOUNDS[type(entry)]
                bounds[name] = getattr(entry, name)
    return bounds


def disagreements(
    path: str, schema: Mapping[str, Any], annotation: Any, metadata: list[Any]
) -> Iterator[str]:
    """Where the CRD property `schema` and the model's type (`annotation`, `metadata`) differ."""
    kind, metadata = _unwrap(annotation, metadata)
    if crd_bounds(schema) != model_bounds(metadata):
        yield f"{path}: bounds CRD {crd_bounds(schema)} vs model {model_bounds(metadata)}"
    if "enum" in schema or typing.get_origin(kind) is Literal:
        enum = list(typing.get_args(kind)) if typing.get_origin(kind) is Literal else None
        if schema.get("enum") != enum:
            yield f"{path}: enum CRD {schema.get('enum')} vs model {enum}"
    if typing.get_origin(kind) is list:
        [item] = typing.get_args(kind)
        yield from disagreements(f"{path}[]", schema.get("items", {}), item, [])
    elif isinstance(kind, type) and issubclass(kind, CrdModel):
        yield from model_disagreements(path, schema, kind)


def _default_disagreement(path: str, schema: Mapping[str, Any], field: FieldInfo) -> str | None:
    """The model's default must be the CRD's, validated; or, where the CRD has none, what an
    absent field means: None, or the empty value of its type."""
    if field.is_required():
        return None
    default = field.get_default(call_default_factory=True)
    if "default" in schema:
        expected, crd = schema["default"], repr(schema["default"])
    elif default is None:
        return None
    else:
        expected = _EMPTY.get(schema.get("type", ""))
        crd = f"none (absent: {expected!r})"
    typed = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(typed)
    try:
        meant = adapter.validate_python(expected)
    except ValueError:
        meant = expected
    return None if meant == default else f"{path}: default CRD {crd} vs model {default!r}"


def model_disagreements(
    path: str, schema: Mapping[str, Any], model: type[CrdModel]
) -> Iterator[str]:
    properties = schema.get("properties", {})
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    if set(properties) != set(fields):
        yield f"{path}: fields CRD {sorted(properties)} vs model {sorted(fields)}"
    required = sorted(alias for alias, field in fields.items() if field.is_required())
    if sorted(schema.get("required", [])) != required:
        yield f"{path}: required CRD {sorted(schema.get('required', []))} vs model {required}"
    for alias in sorted(set(properties) & set(fields)):
        field, child = fields[alias], properties[alias]
        found = _default_disagreement(f"{path}.{alias}", child, field)
        if found is not None and alias not in schema.get("required", []):
            yield found
        if not child.get("x-kubernetes-preserve-unknown-fields"):  # e.g. a gate's JobSpec
            yield from disagreements(f"{path}.{alias}", child, field.annotation, field.metadata)


def test_the_crd_and_the_spec_models_agree() -> None:
    assert list(model_disagreements("spec", _spec_schema(), RolloutSpec)) == []


def test_the_walk_sees_every_kind_of_difference() -> None:
    """The walk itself, on a small model: each difference is named with its path."""

    class Inner(CrdModel):
        mode: Literal["A", "B"] = "A"

    class Outer(CrdModel):
        count: int = 3
        size: int = 1
        wait: timedelta
        inner: Inner = Inner()
        names: list[str] = []

    schema = {
        "type": "object",
        "required": ["count"],
        "properties": {
            "count": {"type": "integer", "default": 4, "minimum": 1},
            "size": {"type": "integer", "default": 2},
            "wait": {
                "type": "string",
                "x-kubernetes-validations": [{"rule": "duration(self) <= duration('1h')"}],
            },
            "inner": {"type": "object", "properties": {"mode": {"type": "string", "enum": ["A"]}}},
            "extra": {"type": "string"},
            "names": {"type": "array", "maxItems": 2},
        },
    }
    assert list(model_disagreements("spec", schema, Outer)) == [
        "spec: fields CRD ['count', 'extra', 'inner', 'names', 'size', 'wait'] vs model "
        "['count', 'inner', 'names', 'size', 'wait']",
        "spec: required CRD ['count'] vs model ['wait']",
        "spec.count: bounds CRD {'ge': 1} vs model {}",  # its default: required in the CRD
        "spec.inner.mode: default CRD none (absent: '') vs model 'A'",
        "spec.inner.mode: enum CRD ['A'] vs model ['A', 'B']",
        "spec.names: bounds CRD {'max_length': 2} vs model {}",
        "spec.size: default CRD 2 vs model 1",
        f"spec.wait: bounds CRD {{'le': {timedelta(hours=1)!r}}} vs model {{}}",
    ]


@pytest.mark.parametrize(
    ("schema", "bounds"),
    [
        ({"minimum": 0, "exclusiveMinimum": True, "maximum": 1}, {"gt": 0, "le": 1}),
        ({"minItems": 1, "maxItems": 20}, {"min_length": 1, "max_length": 20}),
        (
            {
                "x-kubernetes-validations": [
                    {
                        "rule": "x || (duration(self) >= duration('1s') && duration(self) <= duration('720h'))"
                    }
                ]
            },
            {"ge": timedelta(seconds=1), "le": timedelta(hours=720)},
        ),
    ],
)
def test_crd_bounds_in_pydantics_words(schema: dict[str, Any], bounds: dict[str, Any]) -> None:
    assert crd_bounds(schema) == bounds
