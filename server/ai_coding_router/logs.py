"""Logging set-up: to stderr (stdout is the LSP channel), with secrets masked in every record."""

from __future__ import annotations

import logging
import os
import sys

SECRET_ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


class SecretMaskingFilter(logging.Filter):
    """Replace the values of secret environment variables in any log record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        found = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
        self._secrets = [s for s in (secrets or []) + found if len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            masked = mask_secrets(message, self._secrets)
            if masked != message:
                record.msg, record.args = masked, None
        return True


def mask_secrets(text: str, secrets: list[str] | None = None) -> str:
    values = secrets if secrets is not None else [os.environ.get(n, "") for n in SECRET_ENV_VARS]
    for secret in values:
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pygls logs every message it sends, whole, at INFO: the user's code in the editor's log panel and a
    # formatted copy of every response. Its chatter is shown only when DEBUG is asked for.
    logging.getLogger("pygls").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
