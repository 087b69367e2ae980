"""Building blocks of the interactive inline-completion path: prompt, cleaning, caches, debounce.

Pure and synchronous: nothing here talks to the network or knows about LSP. ``service.py`` (the
orchestration) and the LSP handler put them together.
"""

from .cache import CompletionCache, InFlight
from .debounce import AdaptiveDebounce
from .postprocess import clean_completion, clean_partial, is_usable_prefix, strip_stream_preamble
from .prompt import build_completion_request, prompt_key, until_enclosing_scope

__all__ = [
    "AdaptiveDebounce",
    "CompletionCache",
    "InFlight",
    "build_completion_request",
    "clean_completion",
    "clean_partial",
    "is_usable_prefix",
    "prompt_key",
    "strip_stream_preamble",
    "until_enclosing_scope",
]
