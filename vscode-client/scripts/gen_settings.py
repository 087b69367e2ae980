"""Generate the extension's server settings in package.json from the pydantic config model.

The server's `ai_coding_router.config.Config` is the one source of truth: every field `<section>.<key>`
becomes the VS Code setting `aiCodingRouter.<section>.<key>` with the same type, default, enum, limits and
description. Client-only settings (`aiCodingRouter.server.*`, `aiCodingRouter.trace.server`) are written by
hand in package.json and kept as they are.

Run with the project venv, from anywhere:
    .venv/bin/python vscode-client/scripts/gen_settings.py          # rewrite package.json
    .venv/bin/python vscode-client/scripts/gen_settings.py --check  # exit 1 when package.json is stale
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from ai_coding_router.config import Config

PREFIX = "aiCodingRouter"
PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"

SECTION_TITLES = {
    "routing": "Routing",
    "validation": "Validation",
    "context": "Context",
    "cost_tracking": "Cost Tracking",
    "completion": "Completion",
    "api": "API",
}

# JSON Schema keywords VS Code's settings editor understands; everything else (title, ...) is dropped.
_KEPT_KEYWORDS = (
    "type",
    "enum",
    "default",
    "description",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "items",
    "properties",
    "required",
    "additionalProperties",
)


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline `$ref`s (VS Code settings cannot point into `$defs`) and drop keywords it does not use."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _resolve(copy.deepcopy(defs[name]), defs)
    if "anyOf" in node:
        return _nullable(node, defs)
    out: dict[str, Any] = {}
    for key in _KEPT_KEYWORDS:
        if key not in node:
            continue
        value = node[key]
        if key == "properties":
            out[key] = {name: _resolve(prop, defs) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _resolve(value, defs)
        else:
            out[key] = value
    return out


def _nullable(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`X | None` arrives as anyOf [X, null]; VS Code wants `type: [X, "null"]`."""
    options = [_resolve(option, defs) for option in node["anyOf"]]
    non_null = [option for option in options if option.get("type") != "null"]
    if len(non_null) != 1 or len(options) != 2:
        raise SystemExit(f"unsupported union in the config model: {node}")
    merged = dict(non_null[0])
    merged["type"] = [merged["type"], "null"]
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    for key in ("default", "description"):
        if key in node:
            merged[key] = node[key]
    return merged


def server_properties() -> dict[str, dict[str, Any]]:
    """`aiCodingRouter.<section>.<key>` → setting schema, per section, in the model's field order."""
    schema = Config.model_json_schema()
    defs = schema["$defs"]
    defaults = Config().model_dump(mode="json")
    sections: dict[str, dict[str, Any]] = {}
    for section, section_ref in schema["properties"].items():
        section_schema = defs[section_ref["$ref"].rsplit("/", 1)[-1]]
        props: dict[str, Any] = {}
        for order, (key, field_schema) in enumerate(section_schema["properties"].items()):
            setting = _resolve(field_schema, defs)
            # default_factory fields carry no default in the JSON Schema: take it from the model instance.
            setting["default"] = defaults[section][key]
            if "description" not in setting:
                setting["description"] = f"Server setting `{section}.{key}` (as in ai-coding-router.config.yaml)."
            setting["order"] = order
            props[f"{PREFIX}.{section}.{key}"] = dict(sorted(setting.items()))
        sections[section] = props
    return sections


def _all_properties(configuration: Any) -> dict[str, Any]:
    categories = configuration if isinstance(configuration, list) else [configuration]
    merged: dict[str, Any] = {}
    for category in categories:
        merged.update(category.get("properties", {}))
    return merged


def updated_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Return the manifest with its server settings regenerated and its client-only settings kept."""
    manifest = copy.deepcopy(manifest)
    contributes = manifest.setdefault("contributes", {})
    existing = _all_properties(contributes.get("configuration", []))
    server_sections = set(Config.model_fields)
    client_only = {
        key: value
        for key, value in existing.items()
        if not (key.startswith(f"{PREFIX}.") and key.split(".")[1] in server_sections)
    }
    categories: list[dict[str, Any]] = [
        {"id": PREFIX, "title": "AI Coding Router", "order": 0, "properties": client_only}
    ]
    for order, (section, props) in enumerate(server_properties().items(), start=1):
        title = SECTION_TITLES.get(section, section.replace("_", " ").title())
        categories.append({"id": f"{PREFIX}.{section}", "title": title, "order": order, "properties": props})
    contributes["configuration"] = categories
    return manifest


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when package.json is not up to date")
    parser.add_argument("--package-json", type=Path, default=PACKAGE_JSON)
    args = parser.parse_args(argv)
    current = args.package_json.read_text(encoding="utf-8")
    wanted = render(updated_manifest(json.loads(current)))
    if args.check:
        if current != wanted:
            print(
                f"{args.package_json} is out of date with ai_coding_router.config.Config; "
                "run: .venv/bin/python vscode-client/scripts/gen_settings.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != wanted:
        args.package_json.write_text(wanted, encoding="utf-8")
        print(f"updated {args.package_json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
