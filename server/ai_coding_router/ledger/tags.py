"""The tags a call is recorded with: only the names listed in ``cost_tracking.tags``.

Built-in names are filled in when the caller did not set them: ``task_type`` from the task kind, ``team``
from ``cost_tracking.team`` or ``AI_CODING_ROUTER_TEAM``, ``feature_branch`` from git. Other names come
from the caller's tags (``ModelRequest.tags``) or are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

TEAM_ENV = "AI_CODING_ROUTER_TEAM"


def resolve_tags(
    names: Sequence[str],
    given: Mapping[str, str],
    *,
    task_kind: str,
    team: str | None,
    env: Mapping[str, str],
    branch: Callable[[], str | None],
) -> dict[str, str]:
    """Pure apart from ``branch``, which is called only when ``feature_branch`` is wanted and not given."""
    tags: dict[str, str] = {}
    for name in names:
        value: str | None = given.get(name)
        if value is None:
            if name == "task_type":
                value = task_kind
            elif name == "team":
                value = team or env.get(TEAM_ENV) or None
            elif name == "feature_branch":
                value = branch()
        if value:
            tags[name] = value
    return tags
