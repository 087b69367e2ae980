"""Script and inspect a fake running in another process, through its ``/_fake/*`` control endpoints."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from tests.fake_anthropic.script import Reply


def _reply_json(reply: Reply | str) -> Any:
    return reply if isinstance(reply, str) else reply.to_json()


class RemoteFake:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        if not base_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"RemoteFake only talks to a loopback fake, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, data: object = None) -> Any:
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def script(self, model: str | None, *replies: Reply | str) -> None:
        self._call("POST", "/_fake/script", {"model": model, "replies": [_reply_json(r) for r in replies]})

    def set_default(self, reply: Reply | str) -> None:
        self._call("POST", "/_fake/default", _reply_json(reply) if isinstance(reply, Reply) else {"text": reply})

    def load_script(self, data: Mapping[str, Any]) -> None:
        self._call("POST", "/_fake/load", dict(data))

    def clear(self) -> None:
        self._call("POST", "/_fake/clear", {})

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests as JSON objects (the fields of ``RecordedRequest``, plus ``completed``)."""
        result: list[dict[str, Any]] = self._call("GET", "/_fake/requests")
        return result

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/_fake/health").get("ok"))
        except OSError:
            return False
