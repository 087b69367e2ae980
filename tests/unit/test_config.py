"""The config model: defaults, every bad-config case, layering and last-good behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ai_coding_router.config import (
    CONFIG_FILE_NAME,
    Config,
    ConfigStore,
    build_config,
    client_overrides,
    json_schema,
    load_config_file,
    parse_config_text,
)
from ai_coding_router.errors import ConfigError

TEMPLATE = """\
routing:
  default_model: "claude-sonnet-4-6"
  escalation_model: "claude-opus-4-7"
  complexity_threshold: 0.75
  max_latency_ms: 3000
  interactive_fallback: true
validation:
  enabled: true
  checks: [typescript_compile, eslint_strict, vitest_run]
  escalation_on: "fail-logic"
context:
  max_files: 15
  pruning_strategy: "dependency_graph"
  include_types: true
  strip_documentation: true
cost_tracking:
  enabled: true
  tags: [task_type, team, feature_branch]
  alert_threshold_per_task: 0.50
"""


def load(text: str) -> Config:
    return build_config(parse_config_text(text))


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    return info.value.problems


def test_template_equals_defaults() -> None:
    assert load(TEMPLATE) == Config()
    defaults = Config()
    assert defaults.routing.default_model == "claude-sonnet-4-6"
    assert defaults.routing.escalation_model == "claude-opus-4-7"
    assert defaults.routing.complexity_threshold == 0.75
    assert defaults.validation.checks == ["typescript_compile", "eslint_strict", "vitest_run"]
    assert defaults.context.max_files == 15
    assert defaults.cost_tracking.alert_threshold_per_task == 0.5


def test_empty_file_gives_defaults() -> None:
    assert load("") == Config()
    assert load("# only a comment\n") == Config()


def test_bad_yaml_names_line() -> None:
    problems = problems_of("routing:\n  default_model: [unclosed\n  max_latency_ms: 3\n")
    assert len(problems) == 1
    assert "invalid YAML" in problems[0]
    assert "line" in problems[0]


def test_unknown_key_names_key_and_line() -> None:
    problems = problems_of("routing:\n  default_model: x\n  complexity_treshold: 0.5\n")
    assert problems == ["routing.complexity_treshold (line 3): unknown key"]


def test_unknown_section_is_refused() -> None:
    assert problems_of("routng:\n  x: 1\n") == ["routng (line 1): unknown key"]


def test_wrong_type_names_key_and_line() -> None:
    problems = problems_of("context:\n  max_files: many\n")
    assert len(problems) == 1
    assert problems[0].startswith("context.max_files (line 2):")
    assert "integer" in problems[0]


@pytest.mark.parametrize("value", ["-0.1", "1.5", "2"])
def test_threshold_outside_unit_interval(value: str) -> None:
    problems = problems_of(f"routing:\n  complexity_threshold: {value}\n")
    assert problems[0].startswith("routing.complexity_threshold (line 2):")


def test_bad_list_item_names_index() -> None:
    problems = problems_of("validation:\n  checks:\n    - typescript_compile\n    - pylint\n")
    assert problems[0].startswith("validation.checks.1 (line 4):")


def test_top_level_must_be_mapping() -> None:
    assert "mapping" in problems_of("- a\n- b\n")[0]


def test_several_problems_reported_together() -> None:
    problems = problems_of("routing:\n  complexity_threshold: 3\ncontext:\n  max_files: 0\n")
    assert len(problems) == 2


def test_prices_are_data_with_defaults_and_overridable() -> None:
    prices = "    my-model: {input: 1, output: 2, cache_write: 1.25, cache_read: 0.1}\n"
    config = load("cost_tracking:\n  prices:\n" + prices)
    assert config.cost_tracking.prices["my-model"].output == 2
    assert config.cost_tracking.prices["my-model"].batch_discount == 0.5
    assert Config().cost_tracking.prices["claude-sonnet-4-6"].input == 3.0


def test_layers_later_wins_and_merge_deeply(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE_NAME).write_text("routing:\n  max_latency_ms: 1500\n  complexity_threshold: 0.6\n")
    store = ConfigStore(tmp_path)
    store.reload_file()
    assert store.current.routing.max_latency_ms == 1500
    store.set_client_options({"aiCodingRouter": {"routing": {"max_latency_ms": 900}}})
    assert store.current.routing.max_latency_ms == 900
    assert store.current.routing.complexity_threshold == 0.6  # from the file, not reset by the override


def test_store_keeps_last_good_config(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE_NAME
    path.write_text("routing:\n  max_latency_ms: 1500\n")
    store = ConfigStore(tmp_path)
    store.reload_file()
    path.write_text("routing:\n  max_latency_ms: fast\n")
    with pytest.raises(ConfigError):
        store.reload_file()
    assert store.current.routing.max_latency_ms == 1500
    assert store.last_error is not None
    with pytest.raises(ConfigError):
        store.set_client_options({"routing": {"complexity_threshold": 7}})
    assert store.current.routing.complexity_threshold == 0.75


def test_client_overrides_accepts_nested_or_flat_and_ignores_foreign_keys() -> None:
    assert client_overrides({"aiCodingRouter": {"routing": {"a": 1}}}) == {"routing": {"a": 1}}
    assert client_overrides({"routing": {"a": 1}, "workspaceTrusted": True}) == {"routing": {"a": 1}}
    assert client_overrides(None) == {}
    assert client_overrides(["x"]) == {}


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config_file(tmp_path / CONFIG_FILE_NAME) == Config()


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE_NAME
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert "cannot read" in info.value.problems[0]


def test_schema_describes_every_section() -> None:
    schema = json_schema()
    assert set(schema["properties"]) == set(Config.model_fields)
    routing = schema["$defs"]["RoutingConfig"]["properties"]["complexity_threshold"]
    assert routing["minimum"] == 0.0 and routing["maximum"] == 1.0


def test_cli_schema_and_check(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ai_coding_router", "config", "schema"], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["title"] == "ai-coding-router configuration"
    bad = tmp_path / CONFIG_FILE_NAME
    bad.write_text("routing:\n  complexity_threshold: 2\n")
    result = subprocess.run(
        [sys.executable, "-m", "ai_coding_router", "config", "check", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "routing.complexity_threshold (line 2)" in result.stderr


def test_readme_reference_is_generated_from_the_model() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    from ai_coding_router.config import reference_markdown

    assert reference_markdown() in readme, "README is stale: run `python scripts/sync_readme.py`"
