"""The context engine: parse cache, workspace index, pruning to a token budget, secret redaction.

The interactive and background paths call ``prune(index.snapshot(), ContextRequest(...))``; the routing
classifier calls ``impact(snapshot, path, start_line, end_line)``.
"""

from .impact import ImpactFacts, impact
from .index import IndexSnapshot, WorkspaceIndex
from .parse_cache import DocumentTrees
from .prune import ContextRequest, ContextResult, Snippet, prune, render
from .redact import is_secret_path, redact
from .tokens import estimate_tokens

__all__ = [
    "ContextRequest",
    "ContextResult",
    "DocumentTrees",
    "ImpactFacts",
    "IndexSnapshot",
    "Snippet",
    "WorkspaceIndex",
    "estimate_tokens",
    "impact",
    "is_secret_path",
    "prune",
    "redact",
    "render",
]
