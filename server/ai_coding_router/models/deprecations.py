"""Configured models the API is retiring, said before their calls start failing.

The table is the SDK's own (model id → end-of-life date, updated with each SDK release). The SDK warns with
it on each ``messages.create`` call, as a Python warning nobody sees in an editor; we send through the
client's ``post`` (models/anthropic_client.py), so the server says it itself, once, where the user looks:
the editor, ``config check`` and ``doctor``. The table lives in a private module of the SDK: if it is
missing or reshaped there are no warnings, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..config import CONFIG_FILE_NAME, Config

log = logging.getLogger(__name__)


def sdk_deprecation_table() -> dict[str, str]:
    """Model id → end-of-life date as the installed SDK knows it; empty when it cannot be read.

    Imports the SDK (about a second the first time): call it off the event loop."""
    try:
        from anthropic._data import DEPRECATED_MODELS
    except Exception as error:  # an SDK without the table (or a broken one): no warnings
        log.debug("the SDK's model deprecation table is not available: %s", error)
        return {}
    if not isinstance(DEPRECATED_MODELS, Mapping):
        return {}
    return {str(model): str(end) for model, end in DEPRECATED_MODELS.items()}


def configured_models(config: Config) -> list[tuple[str, str]]:
    """(config key, model id) of every model the configuration names."""
    return [("routing.default_model", config.routing.default_model),
            ("routing.escalation_model", config.routing.escalation_model)]


def deprecated_model_warnings(config: Config, table: Mapping[str, str]) -> list[tuple[str, str]]:
    """(model id, message) for each configured model in ``table``, in config order, each model once."""
    warnings: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, model in configured_models(config):
        end_of_life = table.get(model)
        if end_of_life is None or model in seen:
            continue
        seen.add(model)
        warnings.append((model, f"{key} is '{model}', a deprecated model (end of life: {end_of_life}); its calls "
                                f"will fail after that. Choose a newer model in {CONFIG_FILE_NAME}."))
    return warnings
