"""ai-coding-router: a Language Server that routes each request to the right Claude model."""

__version__ = "0.1.0"
