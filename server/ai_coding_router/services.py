"""The plain-Python services one server instance uses, built in one place.

Nothing here imports pygls: the LSP layer translates between the protocol and these objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .completion.service import CompletionService
from .config import Config, ConfigStore
from .errors import ConfigError
from .models.anthropic_client import AnthropicModelClient
from .models.base import ModelClient
from .quickfix import QuickFixService
from .workspace_context import WorkspaceContext

log = logging.getLogger(__name__)


@dataclass
class ClientInfo:
    """What the editor told us about itself in ``initialize``."""

    name: str = "unknown"
    supports_inline_completion: bool = False
    supports_work_done_progress: bool = False
    supports_watched_files_registration: bool = False
    supports_code_action_resolve: bool = False
    supports_change_annotations: bool = False
    supports_document_changes: bool = False
    supports_create_files: bool = False
    workspace_trusted: bool = False


@dataclass
class Services:
    workspace_roots: list[Path]
    config_store: ConfigStore
    model_client: ModelClient
    completion: CompletionService
    context: WorkspaceContext
    quickfix: QuickFixService
    client: ClientInfo = field(default_factory=ClientInfo)

    @property
    def config(self) -> Config:
        return self.config_store.current

    @property
    def primary_root(self) -> Path | None:
        return self.workspace_roots[0] if self.workspace_roots else None


def build_services(
    workspace_roots: list[Path],
    client_options: Any = None,
    model_client: ModelClient | None = None,
) -> tuple[Services, list[ConfigError]]:
    """Build services for a workspace. Config problems are returned (to be shown), never fatal."""
    store = ConfigStore(workspace_roots[0] if workspace_roots else None)
    problems: list[ConfigError] = []
    try:
        store.reload_file()
    except ConfigError as error:
        problems.append(error)
    if client_options:
        try:
            store.set_client_options(client_options)
        except ConfigError as error:
            problems.append(error)
    if model_client is None:
        api = store.current.api
        model_client = AnthropicModelClient(base_url=api.base_url, timeout_s=api.timeout_s,
                                            http_client=api.http_client)
    context = WorkspaceContext(workspace_roots[0] if workspace_roots else None)
    completion = CompletionService(
        model_client,
        lambda: store.current,
        context=lambda query, budget: context.completion_snippets(
            query.path, query.prefix, query.suffix, budget, store.current
        ),
        context_version=context.version,
    )
    context.on_updated = completion.context_changed
    quickfix = QuickFixService(model_client, lambda: store.current, context, workspace_roots[0] if workspace_roots
                               else None)
    services = Services(
        workspace_roots=workspace_roots, config_store=store, model_client=model_client, completion=completion,
        context=context, quickfix=quickfix,
    )
    return services, problems
