"""The exception tree of ai-coding-router, written out in one place (as httpx does).

    RouterError
    ├── ConfigError                  the config file or an override is invalid (the last good config stays)
    ├── ModelError                   a model call failed; ``retryable`` says if trying again may help
    │   ├── ModelUnavailable         no API key / client not configured: one clear message, no retries
    │   ├── ModelRateLimited         429
    │   ├── ModelOverloaded          529
    │   ├── ModelServerError         other 5xx, or an ``error`` event in the stream
    │   ├── ModelRequestError        4xx other than 429 (bad request, auth, not found)
    │   ├── ModelTimeout             the deadline or the HTTP timeout passed
    │   ├── ModelConnectionError     the connection could not be made or was reset
    │   └── ModelStreamBroken        the stream ended before ``message_stop``
    ├── ContextError                 a file or position the context engine cannot use
    ├── ValidationToolError          a validator could not run (missing node, tool crashed)
    └── EditError                    an edit cannot be parsed or applied safely
"""

from __future__ import annotations


class RouterError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RouterError):
    """Invalid configuration. ``problems`` holds one readable line per problem."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(problems))


class ModelError(RouterError):
    retryable = False

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class ModelUnavailable(ModelError):
    pass


class ModelRateLimited(ModelError):
    retryable = True


class ModelOverloaded(ModelError):
    retryable = True


class ModelServerError(ModelError):
    retryable = True


class ModelRequestError(ModelError):
    pass


class ModelTimeout(ModelError):
    retryable = True


class ModelConnectionError(ModelError):
    retryable = True


class ModelStreamBroken(ModelError):
    retryable = True


class ContextError(RouterError):
    pass


class ValidationToolError(RouterError):
    pass


class EditError(RouterError):
    pass
