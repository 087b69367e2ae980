"""`ai-coding-router.config.yaml`: the one source of truth for every setting.

The pydantic model below defines the keys, their defaults and their limits. The JSON Schema, the VS Code
settings and the README's reference are generated from it or checked against it by tests.
Layers, later wins: defaults < the workspace file < ``initializationOptions`` < ``didChangeConfiguration``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

CONFIG_FILE_NAME = "ai-coding-router.config.yaml"

CheckName = Literal["syntax", "typescript_compile", "eslint_strict", "vitest_run"]
TagName = str
DEFAULT_CHECKS: tuple[CheckName, ...] = ("typescript_compile", "eslint_strict", "vitest_run")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingVariant(_Section):
    """A routing experiment arm: tasks are assigned to a variant by a stable hash of their id."""

    name: str = Field(min_length=1)
    complexity_threshold: float = Field(ge=0.0, le=1.0)
    weight: float = Field(default=1.0, gt=0.0)


class RoutingConfig(_Section):
    default_model: str = Field(default="claude-sonnet-4-6", min_length=1, description="The fast model.")
    escalation_model: str = Field(default="claude-opus-4-7", min_length=1, description="The deep model.")
    complexity_threshold: float = Field(
        default=0.75, ge=0.0, le=1.0, description="Tasks scoring at or above this go to the deep model."
    )
    max_latency_ms: int = Field(
        default=3000, gt=0, le=600_000, description="Latency budget of an interactive request, end to end."
    )
    interactive_fallback: bool = Field(
        default=True, description="Offer a background job when an interactive request cannot fit its budget."
    )
    variants: list[RoutingVariant] = Field(default_factory=list, description="Routing experiments.")


class ValidationConfig(_Section):
    enabled: bool = Field(default=True, description="Validate model output before it is offered.")
    checks: list[CheckName] = Field(
        default_factory=lambda: list(DEFAULT_CHECKS),
        description="Gates after the always-on syntax check: typescript_compile, eslint_strict, vitest_run.",
    )
    escalation_on: Literal["fail-logic", "fail-syntax", "never"] = Field(
        default="fail-logic", description="Which failure escalates to the deep model: fail-logic, fail-syntax, never."
    )
    max_repair_attempts: int = Field(default=2, ge=0, le=10, description="Repairs on the fast model per task.")
    allow_running_tests: bool = Field(
        default=False, description="Running tests executes workspace code: only when the workspace is trusted."
    )
    tool_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0, description="Time limit of one tool run.")


class ContextConfig(_Section):
    max_files: int = Field(default=15, ge=1, le=1000, description="Most files context may come from.")
    pruning_strategy: Literal["dependency_graph", "imports", "current_file"] = Field(
        default="dependency_graph", description="dependency_graph, imports or current_file."
    )
    include_types: bool = Field(default=True, description="Send the types and signatures of what is used.")
    strip_documentation: bool = Field(default=True, description="Drop comments and JSDoc from context.")
    interactive_budget_tokens: int = Field(
        default=1024, ge=0, le=200_000, description="Context tokens for completions and quick fixes."
    )
    background_budget_tokens: int = Field(
        default=8192, ge=256, le=200_000, description="Context tokens for background jobs."
    )


class CompletionConfig(_Section):
    """The interactive inline-completion path."""

    max_tokens: int = Field(default=128, ge=1, le=4096, description="Output tokens of one completion.")
    automatic_latency_ms: int | None = Field(
        default=None, gt=0, description="Tighter budget for automatic completions; defaults to max_latency_ms."
    )
    debounce_min_ms: int = Field(default=25, ge=0, le=5000, description="Shortest wait after a keystroke.")
    debounce_max_ms: int = Field(default=250, ge=0, le=5000, description="Longest wait after a keystroke.")
    cache_size: int = Field(default=512, ge=0, le=100_000, description="Completions kept in the cache.")
    cache_ttl_s: float = Field(default=300.0, gt=0.0, description="How long a cached completion lives.")


class ModelPrice(_Section):
    """US dollars per million tokens."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)
    cache_write: float = Field(ge=0.0)
    cache_read: float = Field(ge=0.0)
    batch_discount: float = Field(default=0.5, ge=0.0, le=1.0, description="Fraction of the price batches pay.")


def _default_prices() -> dict[str, ModelPrice]:
    return {
        "claude-sonnet-4-6": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
        "claude-opus-4-7": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
        "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
    }


class CostTrackingConfig(_Section):
    enabled: bool = Field(default=True, description="Record every model call in the ledger.")
    tags: list[TagName] = Field(
        default_factory=lambda: ["task_type", "team", "feature_branch"], description="Tags recorded per call."
    )
    alert_threshold_per_task: float = Field(
        default=0.50, ge=0.0, description="Warn when one task costs more than this (USD)."
    )
    ledger_path: str | None = Field(default=None, description="Default: .ai-coding-router/ledger.sqlite3")
    team: str | None = Field(default=None, description="The team tag; else AI_CODING_ROUTER_TEAM.")
    daily_budget: float | None = Field(default=None, ge=0.0, description="USD per day; none when unset.")
    monthly_budget: float | None = Field(default=None, ge=0.0, description="USD per month; none when unset.")
    budget_policy: Literal["warn", "downgrade", "block"] = Field(
        default="warn", description="Over budget: warn, downgrade to the fast model, or block deep calls."
    )
    store_prompts: bool = Field(default=False, description="Keep prompt text in the ledger, for debugging.")
    prices: dict[str, ModelPrice] = Field(
        default_factory=_default_prices, description="USD per million tokens, per model id."
    )


class ApiConfig(_Section):
    base_url: str | None = Field(default=None, description="Default: ANTHROPIC_BASE_URL or the Anthropic API.")
    timeout_s: float = Field(default=120.0, gt=0.0, description="HTTP timeout of one model call.")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries of background calls.")
    http_client: Literal["lean", "httpx"] = Field(
        default="lean",
        description="lean: the server's keep-alive HTTP/1.1 transport (~0.7 ms less per completion; used only "
        "when no proxy variable is set); httpx: the SDK's own HTTP stack. Read at start.",
    )


class Config(_Section):
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    cost_tracking: CostTrackingConfig = Field(default_factory=CostTrackingConfig)
    completion: CompletionConfig = Field(default_factory=CompletionConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ai-coding-router configuration"
    return schema


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings merge key by key, anything else replaces."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _yaml_lines(node: yaml.Node | None, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    """Map every key path in a composed YAML document to its 1-based line."""
    lines: dict[tuple[str | int, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            lines[key_path] = key_node.start_mark.line + 1
            lines.update(_yaml_lines(value_node, key_path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            lines[item_path] = item.start_mark.line + 1
            lines.update(_yaml_lines(item, item_path))
    return lines


def _line_for(loc: tuple[str | int, ...], lines: Mapping[tuple[str | int, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def describe_validation_error(
    error: ValidationError, lines: Mapping[tuple[str | int, ...], int] | None = None
) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        line = _line_for(loc, lines or {})
        where = f" (line {line})" if line is not None else ""
        problems.append(f"{key}{where}: {message}")
    return problems


def parse_config_text(text: str, source: str = CONFIG_FILE_NAME) -> dict[str, Any]:
    """Parse YAML text into a mapping, raising ConfigError with the line of a syntax error."""
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"invalid YAML{where}: {problem}"], source) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping of sections (routing, validation, ...)"], source)
    data["__lines__"] = _yaml_lines(document)
    return data


def build_config(*layers: Mapping[str, Any], source: str = CONFIG_FILE_NAME) -> Config:
    """Validate merged layers into a Config; line numbers come from the file layer when known."""
    merged: dict[str, Any] = {}
    lines: dict[tuple[str | int, ...], int] = {}
    for layer in layers:
        layer = dict(layer)
        lines.update(layer.pop("__lines__", {}))
        merged = deep_merge(merged, layer)
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, lines), source) from exc


def load_config_file(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the file: {exc}"], str(path)) from exc
    return build_config(parse_config_text(text, str(path)), source=str(path))


def client_overrides(options: Any) -> dict[str, Any]:
    """Pick our settings out of initializationOptions / didChangeConfiguration payloads.

    Editors send either our sections directly or nest them under ``aiCodingRouter`` (VS Code style).
    """
    if not isinstance(options, Mapping):
        return {}
    for key in ("aiCodingRouter", "ai-coding-router", "ai_coding_router"):
        nested = options.get(key)
        if isinstance(nested, Mapping):
            options = nested
            break
    sections = set(Config.model_fields)
    return {key: value for key, value in options.items() if key in sections}


class ConfigStore:
    """Holds the effective config and keeps the last good one when a new layer is invalid."""

    def __init__(self, workspace_root: Path | None = None) -> None:
        self.workspace_root = workspace_root
        self._file_layer: dict[str, Any] = {}
        self._client_layer: dict[str, Any] = {}
        self.current = Config()
        self.last_error: ConfigError | None = None

    @property
    def file_path(self) -> Path | None:
        return self.workspace_root / CONFIG_FILE_NAME if self.workspace_root else None

    def _rebuild(self, file_layer: dict[str, Any], client_layer: dict[str, Any], source: str) -> Config:
        config = build_config(file_layer, client_layer, source=source)
        self._file_layer, self._client_layer, self.current = file_layer, client_layer, config
        self.last_error = None
        return config

    def reload_file(self) -> Config:
        """Re-read the workspace file. Raises ConfigError and keeps the last good config on failure."""
        path = self.file_path
        layer: dict[str, Any] = {}
        if path is not None and path.is_file():
            try:
                layer = parse_config_text(path.read_text(encoding="utf-8"), str(path))
            except (OSError, UnicodeDecodeError) as exc:
                self.last_error = ConfigError([f"cannot read the file: {exc}"], str(path))
                raise self.last_error from exc
            except ConfigError as exc:
                self.last_error = exc
                raise
        try:
            return self._rebuild(layer, self._client_layer, str(path or CONFIG_FILE_NAME))
        except ConfigError as exc:
            self.last_error = exc
            raise

    def set_client_options(self, options: Any) -> Config:
        """Apply editor settings. Raises ConfigError and keeps the last good config on failure."""
        try:
            return self._rebuild(self._file_layer, client_overrides(options), "editor settings")
        except ConfigError as exc:
            self.last_error = exc
            raise


def dump_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True)


def reference_markdown() -> str:
    """The README's configuration reference, generated from the model (a test keeps README in step)."""
    rows = ["| key | default | description |", "| --- | --- | --- |"]
    defaults = Config()
    for section_name, section_field in Config.model_fields.items():
        section_model = section_field.annotation
        assert isinstance(section_model, type) and issubclass(section_model, BaseModel)
        section_value = getattr(defaults, section_name)
        for key, key_field in section_model.model_fields.items():
            default = getattr(section_value, key)
            if isinstance(default, BaseModel):
                default = default.model_dump()
            elif isinstance(default, dict):
                default = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in default.items()}
            shown = "(see prices below)" if key == "prices" else json.dumps(default)
            limits = []
            for item in key_field.metadata:
                for name, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                    if getattr(item, name, None) is not None:
                        limits.append(f"{symbol} {getattr(item, name)}")
            description = (key_field.description or "").replace("|", "\\|")
            if limits:
                description = (description + " " if description else "") + f"({', '.join(limits)})"
            rows.append(f"| `{section_name}.{key}` | `{shown}` | {description} |")
    return "\n".join(rows) + "\n"
