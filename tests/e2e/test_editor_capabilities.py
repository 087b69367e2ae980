"""The server answers `initialize` and a suggestion request right for what Helix, Zed and Emacs really send.

Capabilities: Emacs/eglot from pytest-lsp's recording; Helix, Zed and Emacs/lsp-mode from
`tests/e2e/capabilities/*.json`, written from each client's source (the `_source` field names the file
and commit). None of these clients declares inline completion, so the server must also offer its
suggestion as a completion item; lsp-mode's `lsp-inline-completion-display` asks for inline completion
whatever it declared, so that must answer too.

The editor setups under `editors/` are read here as well: the command and languages they configure are
the ones these tests start and open.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import LanguageClient, client_capabilities

from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import SERVER_COMMAND, copy_workspace, lsp_session, open_document, server_env

CAPABILITIES_DIR = Path(__file__).resolve().parent / "capabilities"
EDITORS = Path(__file__).resolve().parents[2] / "editors"
SERVER_NAME = "ai-coding-router"
FAST_MODEL = "claude-sonnet-4-6"
COMPLETION = "return `Goodbye, ${user.name}!`;"
FALLBACK_PREFIX = "✨ AI: "


@dataclass(frozen=True)
class Editor:
    name: str
    capabilities: types.ClientCapabilities
    inline_requests: bool  # the editor can ask for textDocument/inlineCompletion (lsp-mode's command)


def _from_json(file_name: str) -> types.ClientCapabilities:
    document = json.loads((CAPABILITIES_DIR / file_name).read_text(encoding="utf-8"))
    capabilities: types.ClientCapabilities = get_converter().structure(
        document["capabilities"], types.ClientCapabilities
    )
    return capabilities


EDITORS_UNDER_TEST = {
    "helix": lambda: Editor("helix", _from_json("helix.json"), inline_requests=False),
    "zed": lambda: Editor("Zed", _from_json("zed.json"), inline_requests=False),
    "emacs-lsp-mode": lambda: Editor("emacs", _from_json("emacs-lsp-mode.json"), inline_requests=True),
    "emacs-eglot": lambda: Editor("Emacs (eglot)", client_capabilities("emacs"), inline_requests=False),
}


@pytest.fixture(params=sorted(EDITORS_UNDER_TEST))
def editor(request: pytest.FixtureRequest) -> Editor:
    return EDITORS_UNDER_TEST[request.param]()


def _workspace_with_gap(tmp_path: Path) -> tuple[Path, Path, types.Position]:
    """The fixture workspace, plus a function whose body the suggestion fills."""
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "user.ts"
    path.write_text(path.read_text() + "\nexport function farewell(user: User): string {\n  \n}\n")
    line = next(i for i, text in enumerate(path.read_text().splitlines()) if "function farewell" in text) + 1
    return workspace, path, types.Position(line=line, character=2)


def _value(kind: Any) -> str:
    """lsprotocol enums print as `Kind.Member`; the wire value is what the client sent."""
    return str(getattr(kind, "value", kind))


def _offered_encodings(capabilities: types.ClientCapabilities) -> list[str]:
    general = capabilities.general
    return [_value(e) for e in (general.position_encodings or [])] if general else []


async def _complete(client: LanguageClient, uri: str, position: types.Position) -> types.CompletionList:
    answer = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        )
    )
    assert isinstance(answer, types.CompletionList), answer
    return answer


async def test_initialize_and_suggestion_for_each_editor(tmp_path: Path, fake_api: FakeAnthropic,
                                                         editor: Editor) -> None:
    workspace, path, position = _workspace_with_gap(tmp_path)
    fake_api.script(None, Reply(text=COMPLETION))
    fake_api.set_default(Reply(text=COMPLETION))
    env = server_env(base_url=fake_api.base_url, api_key="test-key")

    async with lsp_session(workspace, client=editor.name, capabilities=editor.capabilities, env=env) as client:
        result: types.InitializeResult = client.initialize_result  # type: ignore[attr-defined]
        caps = result.capabilities
        assert result.server_info is not None and result.server_info.name == SERVER_NAME
        # UTF-16, and one the client offered when it offered any (Helix lists UTF-8 first).
        assert caps.position_encoding == types.PositionEncodingKind.Utf16
        offered = _offered_encodings(editor.capabilities)
        assert not offered or "utf-16" in offered
        assert isinstance(caps.text_document_sync, types.TextDocumentSyncOptions)
        assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
        # No inline completion declared: the suggestion must also come as a completion item.
        assert editor.capabilities.text_document is None or editor.capabilities.text_document.inline_completion is None
        assert caps.completion_provider is not None
        assert caps.inline_completion_provider is not None

        uri = open_document(client, path)
        answer = await _complete(client, uri, position)
        assert answer.is_incomplete is True  # the next keystroke asks again
        assert len(answer.items) == 1
        item = answer.items[0]
        assert item.label.startswith(FALLBACK_PREFIX)
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == COMPLETION
        assert item.text_edit.range == types.Range(start=position, end=position)

        if editor.inline_requests:
            inline = await client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=position,
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                )
            )
            items = inline.items if isinstance(inline, types.InlineCompletionList) else inline
            assert items and items[0].insert_text == COMPLETION

    calls = [r for r in fake_api.requests if r.path.startswith("/v1/messages")]
    assert calls and {r.body.get("model") for r in calls} == {FAST_MODEL}


def _documentation_formats(capabilities: types.ClientCapabilities) -> list[str]:
    text = capabilities.text_document
    item = text.completion.completion_item if text and text.completion else None
    return [_value(f) for f in (item.documentation_format or [])] if item else []


async def test_completion_documentation_uses_a_format_the_editor_declared(tmp_path: Path, fake_api: FakeAnthropic,
                                                                         editor: Editor) -> None:
    """Helix, Zed and eglot declare no `documentationFormat`: LSP then means plain text, not Markdown."""
    workspace, path, position = _workspace_with_gap(tmp_path)
    fake_api.set_default(Reply(text=COMPLETION))
    env = server_env(base_url=fake_api.base_url, api_key="test-key")
    async with lsp_session(workspace, client=editor.name, capabilities=editor.capabilities, env=env) as client:
        uri = open_document(client, path)
        answer = await _complete(client, uri, position)
    documentation = answer.items[0].documentation
    if isinstance(documentation, types.MarkupContent) and documentation.kind == types.MarkupKind.Markdown:
        formats = _documentation_formats(editor.capabilities)
        assert "markdown" in formats, f"Markdown documentation sent to {editor.name}, which declared {formats}"


async def test_a_client_with_inline_completion_gets_no_completion_item(tmp_path: Path) -> None:
    """The control for the fallback: the same Helix set plus inline completion (as Neovim 0.12 sends)."""
    workspace, _, _ = _workspace_with_gap(tmp_path)
    capabilities = _from_json("helix.json")
    assert capabilities.text_document is not None
    capabilities.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    async with lsp_session(workspace, client="helix+inline", capabilities=capabilities) as client:
        caps = client.initialize_result.capabilities  # type: ignore[attr-defined]
        assert caps.inline_completion_provider is not None
        assert caps.completion_provider is None


def _framed(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_message(stream: Any) -> dict[str, Any]:
    length = 0
    while line := stream.readline().strip():
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def test_inline_completion_null_is_read_as_absent(tmp_path: Path) -> None:
    """Recent lsp-mode ends its text-document capabilities with `(inlineCompletion . ())`, which its
    `json-serialize` writes as JSON null. Strict decoders refuse that `initialize` (tsgo did); this
    server must take it as "no inline completion". Sent raw, since typed clients never write null."""
    document = json.loads((CAPABILITIES_DIR / "emacs-lsp-mode.json").read_text(encoding="utf-8"))
    capabilities = document["capabilities"]
    capabilities["textDocument"]["inlineCompletion"] = None
    workspace = copy_workspace(tmp_path / "ws")
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"processId": None, "rootUri": workspace.as_uri(), "capabilities": capabilities,
                             "clientInfo": document["clientInfo"]}}
    process = subprocess.Popen(SERVER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=server_env())
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(_framed(initialize))
        process.stdin.flush()
        answer = _read_message(process.stdout)
        process.stdin.write(_framed({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        process.stdin.write(_framed({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.close()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert "error" not in answer, answer
    server_capabilities = answer["result"]["capabilities"]
    assert "completionProvider" in server_capabilities
    assert "inlineCompletionProvider" in server_capabilities


# --- the copy-paste setups configure what the tests above run ----------------------------------------

def test_helix_setup_runs_the_server_for_typescript_and_javascript() -> None:
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text(encoding="utf-8"))
    server = config["language-server"][SERVER_NAME]
    assert [server["command"], *server["args"]] == [SERVER_NAME, "serve"]
    languages = {entry["name"]: entry["language-servers"] for entry in config["language"]}
    assert set(languages) == {"typescript", "tsx", "javascript", "jsx"}
    for servers in languages.values():
        names = [s if isinstance(s, str) else s["name"] for s in servers]
        assert SERVER_NAME in names
        assert len(names) > 1, "keep the TypeScript server next to ours"


def test_zed_setup_runs_the_server_for_typescript_and_javascript() -> None:
    settings: dict[str, Any] = json.loads((EDITORS / "zed" / "settings.json").read_text(encoding="utf-8"))
    binary = settings["lsp"][SERVER_NAME]["binary"]
    assert binary["arguments"] == ["serve"]
    assert Path(binary["path"]).name == SERVER_NAME
    for language in ("TypeScript", "TSX", "JavaScript"):
        servers = settings["languages"][language]["language_servers"]
        assert SERVER_NAME in servers and "..." in servers  # ours plus Zed's defaults
    manifest = tomllib.loads((EDITORS / "zed" / "extension" / "extension.toml").read_text(encoding="utf-8"))
    assert set(manifest["language_servers"][SERVER_NAME]["languages"]) == {"TypeScript", "TSX", "JavaScript"}


def test_emacs_setup_registers_the_server_with_lsp_mode() -> None:
    source = (EDITORS / "emacs" / "ai-coding-router.el").read_text(encoding="utf-8")
    assert '(defcustom ai-coding-router-command \'("ai-coding-router" "serve")' in source
    assert ":server-id 'ai-coding-router" in source
    assert ":add-on? t" in source
    for language in ("typescript", "typescriptreact", "javascript", "javascriptreact"):
        assert f'"{language}"' in source
    assert "lsp-inline-completion-display" in source


def test_the_editor_docs_show_the_tested_setups_verbatim() -> None:
    """docs/editors.md (the README's "Editor setup") quotes the files these tests and the Neovim test use."""
    docs = (EDITORS.parent / "docs" / "editors.md").read_text(encoding="utf-8")
    for quoted in (EDITORS / "helix" / "languages.toml", EDITORS / "zed" / "settings.json"):
        assert quoted.read_text(encoding="utf-8") in docs, f"{quoted.name} differs from its copy in docs/editors.md"
    for linked in ("editors/neovim/ai-coding-router.lua", "editors/neovim/legacy-0.7.lua",
                   "editors/emacs/ai-coding-router.el", "editors/zed/extension"):
        assert f"(../{linked})" in docs
        assert (EDITORS.parent / linked).exists()
