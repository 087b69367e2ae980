"""Configured models the API is retiring: the pure check, the SDK's table, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ai_coding_router.commands.doctor_cmd import check_models
from ai_coding_router.config import CONFIG_FILE_NAME, Config, RoutingConfig
from ai_coding_router.models.deprecations import deprecated_model_warnings, sdk_deprecation_table

TABLE = {"claude-old-1": "November 30th, 2026", "claude-older-0": "June 30th, 2026"}


def config(default: str = "claude-sonnet-4-6", escalation: str = "claude-opus-4-7") -> Config:
    return Config(routing=RoutingConfig(default_model=default, escalation_model=escalation))


def test_each_deprecated_configured_model_is_named_with_its_key_and_date() -> None:
    assert deprecated_model_warnings(config(), TABLE) == []
    warnings = deprecated_model_warnings(config("claude-old-1", "claude-older-0"), TABLE)
    assert [model for model, _ in warnings] == ["claude-old-1", "claude-older-0"]
    first, second = (message for _, message in warnings)
    assert "routing.default_model is 'claude-old-1'" in first and "November 30th, 2026" in first
    assert "routing.escalation_model is 'claude-older-0'" in second and "June 30th, 2026" in second
    assert CONFIG_FILE_NAME in first


def test_a_model_configured_twice_is_warned_about_once() -> None:
    warnings = deprecated_model_warnings(config("claude-old-1", "claude-old-1"), TABLE)
    assert len(warnings) == 1 and "routing.default_model" in warnings[0][1]


def test_the_table_is_the_installed_sdks() -> None:
    from anthropic._data import DEPRECATED_MODELS

    table = sdk_deprecation_table()
    assert table == {str(k): str(v) for k, v in DEPRECATED_MODELS.items()}
    assert table, "the SDK's deprecation table is empty: these warnings would never fire"


def test_doctor_reports_a_deprecated_model_as_a_warning_not_a_failure() -> None:
    model = next(iter(sdk_deprecation_table()))
    [check] = check_models(config(default=model))
    assert (check.ok, check.required) == (False, False) and model in check.detail
    assert [c.ok for c in check_models(config())] == [True]


def test_config_check_warns_and_still_passes(tmp_path: Path) -> None:
    model = next(iter(sdk_deprecation_table()))
    path = tmp_path / CONFIG_FILE_NAME
    path.write_text(f"routing:\n  escalation_model: {model}\n")
    result = subprocess.run([sys.executable, "-m", "ai_coding_router", "config", "check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"warning: routing.escalation_model is '{model}'" in result.stdout
    path.write_text("routing:\n  escalation_model: claude-opus-4-7\n")
    result = subprocess.run([sys.executable, "-m", "ai_coding_router", "config", "check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "warning" not in result.stdout
