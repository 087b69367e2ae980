"""The VS Code extension's settings mirror the pydantic config model exactly.

Expectations are derived here from the model's fields (annotations, constraints, defaults, descriptions),
not from `model_json_schema()`, so a bug in `vscode-client/scripts/gen_settings.py` cannot hide itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ai_coding_router.config import Config

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = ROOT / "vscode-client" / "package.json"
GENERATOR = ROOT / "vscode-client" / "scripts" / "gen_settings.py"
PREFIX = "aiCodingRouter"

# Settings the client reads itself; they are not config keys and are never sent to the server.
CLIENT_ONLY_SETTINGS = {
    "aiCodingRouter.server.path",
    "aiCodingRouter.server.args",
    "aiCodingRouter.server.pythonPath",
    "aiCodingRouter.trace.server",
}


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return data


def _properties(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    configuration = manifest["contributes"]["configuration"]
    categories = configuration if isinstance(configuration, list) else [configuration]
    merged: dict[str, dict[str, Any]] = {}
    for category in categories:
        for key, value in category["properties"].items():
            assert key not in merged, f"{key} is declared twice"
            merged[key] = value
    return merged


def _sections() -> dict[str, type[BaseModel]]:
    sections: dict[str, type[BaseModel]] = {}
    for name, field in Config.model_fields.items():
        assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        sections[name] = field.annotation
    return sections


def _config_fields() -> Iterator[tuple[str, str, FieldInfo]]:
    for section, model in _sections().items():
        for key, field in model.model_fields.items():
            yield section, key, field


PROPERTIES = _properties(_manifest())
DEFAULTS = Config().model_dump(mode="json")
FIELD_IDS = [f"{section}.{key}" for section, key, _ in _config_fields()]

_SCALAR_TYPES: dict[object, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _json_type(annotation: Any) -> tuple[set[str], list[Any] | None]:
    """JSON types and enum values for a field annotation; `X | None` adds "null"."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = get_args(annotation)
        non_null = [member for member in members if member is not type(None)]
        assert len(non_null) == 1, f"unsupported union {annotation}"
        json_types, enum = _json_type(non_null[0])
        if type(None) in members:
            json_types |= {"null"}
            enum = None if enum is None else [*enum, None]
        return json_types, enum
    if origin is Literal:
        return {"string"}, list(get_args(annotation))
    if origin is list:
        return {"array"}, None
    if origin is dict:
        return {"object"}, None
    if annotation in _SCALAR_TYPES:
        return {_SCALAR_TYPES[annotation]}, None
    raise AssertionError(f"no JSON type for {annotation}")


def _limits(field: FieldInfo) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            limits["minimum"] = item.ge
        elif isinstance(item, annotated_types.Le):
            limits["maximum"] = item.le
        elif isinstance(item, annotated_types.Gt):
            limits["exclusiveMinimum"] = item.gt
        elif isinstance(item, annotated_types.Lt):
            limits["exclusiveMaximum"] = item.lt
        elif isinstance(item, annotated_types.MinLen):
            limits["minLength"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            limits["maxLength"] = item.max_length
    return limits


def _declared_types(setting: dict[str, Any]) -> set[str]:
    declared = setting.get("type")
    if isinstance(declared, str):
        return {declared}
    return set(declared) if isinstance(declared, list) else set()


def _check_schema(setting: dict[str, Any], field: FieldInfo, where: str) -> None:
    json_types, enum = _json_type(field.annotation)
    assert _declared_types(setting) == json_types, f"{where}: type {setting.get('type')!r}, model says {json_types}"
    if enum is not None:
        assert setting.get("enum") == enum, f"{where}: enum {setting.get('enum')!r}, model says {enum}"
    # A Literal inside a list (validation.checks) constrains the items.
    if get_origin(field.annotation) is list:
        (item_type,) = get_args(field.annotation)
        items = setting.get("items", {})
        if get_origin(item_type) is Literal:
            assert items.get("enum") == list(get_args(item_type)), f"{where}: item enum"
        elif isinstance(item_type, type) and issubclass(item_type, BaseModel):
            _check_nested_model(items, item_type, f"{where}[]")
        else:
            item_types, _ = _json_type(item_type)
            assert _declared_types(items) == item_types, f"{where}: item type"
    if get_origin(field.annotation) is dict:
        _, value_type = get_args(field.annotation)
        assert isinstance(value_type, type) and issubclass(value_type, BaseModel)
        _check_nested_model(setting.get("additionalProperties", {}), value_type, f"{where}{{}}")
    limits = _limits(field)
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        assert setting.get(keyword) == limits.get(keyword), (
            f"{where}: {keyword} {setting.get(keyword)!r}, model says {limits.get(keyword)!r}"
        )


def _check_nested_model(schema: dict[str, Any], model: type[BaseModel], where: str) -> None:
    """Objects inside lists and maps (routing variants, prices) keep their fields, limits and required keys."""
    assert schema.get("type") == "object", f"{where}: not an object schema"
    assert schema.get("additionalProperties") is False, f"{where}: unknown keys must be refused, as the model does"
    properties = schema.get("properties", {})
    assert set(properties) == set(model.model_fields), f"{where}: keys {sorted(properties)}"
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    assert sorted(schema.get("required", [])) == sorted(required), f"{where}: required"
    for name, field in model.model_fields.items():
        _check_schema(properties[name], field, f"{where}.{name}")
        if not field.is_required():
            assert properties[name].get("default") == field.get_default(call_default_factory=True), (
                f"{where}.{name}: default"
            )


@pytest.mark.parametrize("field_id", FIELD_IDS)
def test_every_config_field_is_a_setting_with_the_same_schema(field_id: str) -> None:
    section, key = field_id.split(".")
    field = _sections()[section].model_fields[key]
    setting_id = f"{PREFIX}.{section}.{key}"
    assert setting_id in PROPERTIES, f"{setting_id} is missing from vscode-client/package.json"
    setting = PROPERTIES[setting_id]
    _check_schema(setting, field, setting_id)
    assert setting.get("default") == DEFAULTS[section][key], f"{setting_id}: default"
    if field.description:
        assert setting.get("description") == field.description, f"{setting_id}: description"
    else:
        assert setting.get("description") or setting.get("markdownDescription"), f"{setting_id}: no description"


def test_no_setting_without_a_config_field() -> None:
    sections = _sections()
    extra = []
    for setting_id in PROPERTIES:
        if setting_id in CLIENT_ONLY_SETTINGS:
            continue
        parts = setting_id.split(".")
        known = (
            len(parts) == 3
            and parts[0] == PREFIX
            and parts[1] in sections
            and parts[2] in sections[parts[1]].model_fields
        )
        if not known:
            extra.append(setting_id)
    assert extra == [], f"settings that are neither config keys nor listed client-only settings: {extra}"


def test_client_only_settings_exist_and_do_not_shadow_a_config_section() -> None:
    assert set(PROPERTIES) >= CLIENT_ONLY_SETTINGS
    assert {setting_id.split(".")[1] for setting_id in CLIENT_ONLY_SETTINGS}.isdisjoint(Config.model_fields)


def test_settings_defaults_are_a_valid_config() -> None:
    """The defaults VS Code shows must validate as a config (and be the model's own defaults)."""
    nested: dict[str, dict[str, Any]] = {}
    for setting_id, setting in PROPERTIES.items():
        if setting_id not in CLIENT_ONLY_SETTINGS:
            _, section, key = setting_id.split(".")
            nested.setdefault(section, {})[key] = setting["default"]
    assert Config.model_validate(nested) == Config()


def test_restricted_settings_are_declared() -> None:
    trust = _manifest()["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    assert set(trust["restrictedConfigurations"]) <= set(PROPERTIES)


def test_package_json_is_what_the_generator_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
