"""Secrets and trust: a full run with a planted API key and planted workspace secrets, then every place
they could have gone is searched byte by byte. Also: tools run without the key and without a shell,
workspace tests run only when the workspace is trusted, and model output cannot write through a symlink.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ai_coding_router.validation.tools import clean_env, run_tool
from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import as_plain, copy_workspace, lsp_session, open_document, server_env
from .raw_lsp import SERVER_ARGV, VSCODE_LIKE_CAPABILITIES, Answer, RawLsp

FAST = "claude-sonnet-4-6"
PACKAGE = Path(__file__).resolve().parents[2] / "server" / "ai_coding_router"
AWS_KEY_ID = "AKIAPLANTED0SECRET01"
DOTENV_PASSWORD = "planted-dotenv-password-8f3a1c"
DOTENV_KEY = "sk-ant-api03-DOTENV0planted0value0abcdef"
# A private key body: real-looking random base64, 64 characters a line.
KEY_LINES = [base64.b64encode(uuid.uuid5(uuid.NAMESPACE_DNS, str(n)).bytes * 3).decode()[:64] for n in range(4)]
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_LINES) + "\n-----END RSA PRIVATE KEY-----"
LIMIT_BODY = "  return clamp(n, { min: 0, max: 10 });"
LIMIT_NEW = "  return Math.min(10, Math.max(0, n));"
CONFIG_TS = f"""import {{ clamp }} from "./math";

export const awsKeyId = "{AWS_KEY_ID}";
export const signingKey = `{PRIVATE_KEY}`;

export function limit(n: number): number {{
{LIMIT_BODY}
}}
"""
LIMIT_LINE = CONFIG_TS.split("\n").index(LIMIT_BODY)


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def plant_secrets(workspace: Path) -> list[str]:
    """Secret files and credentials in source; returns the values that must never reach the API."""
    (workspace / ".env").write_text(f"ANTHROPIC_API_KEY={DOTENV_KEY}\nDB_PASSWORD={DOTENV_PASSWORD}\n")
    (workspace / "id_rsa").write_text(PRIVATE_KEY + "\n")
    (workspace / "src" / "config.ts").write_text(CONFIG_TS)
    user = workspace / "src" / "user.ts"
    user.write_text('import { awsKeyId, limit } from "./config";\n' + user.read_text()
                    + "\nexport const keyHint = awsKeyId.slice(0, 4) + limit(3);\n")
    return [AWS_KEY_ID, DOTENV_PASSWORD, DOTENV_KEY, *KEY_LINES]


def fake_reply(body: dict[str, Any]) -> Reply:
    """A quick fix / job gets a SEARCH/REPLACE block for config.ts; a completion gets an insertion."""
    if "SEARCH" in json.dumps(body.get("system", "")):
        return Reply(text=block("src/config.ts", LIMIT_BODY, LIMIT_NEW))
    return Reply(text="<insert>n;</insert>")


async def wait_for(client: RawLsp, predicate: Any, what: str, timeout: float = 60.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await client.call("aiCodingRouter/serverStatus", {})
        if answer.ok and predicate(answer.result):
            result: dict[str, Any] = answer.result
            return result
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def full_run(client: RawLsp, workspace: Path) -> dict[str, Answer]:
    """Completions, a code action, a background job, the cost report: what a day of editing touches."""
    answers: dict[str, Answer] = {}
    config_uri = client.open(workspace / "src" / "config.ts")
    user_uri = client.open(workspace / "src" / "user.ts")
    await wait_for(client, lambda s: s["indexReady"] and s["modelReady"], "the index and the SDK")
    position = {"line": LIMIT_LINE, "character": len(LIMIT_BODY)}
    answers["inline-config"] = await client.call("textDocument/inlineCompletion", {
        "textDocument": {"uri": config_uri}, "position": position, "context": {"triggerKind": 1}})
    answers["inline-user"] = await client.call("textDocument/inlineCompletion", {
        "textDocument": {"uri": user_uri}, "position": {"line": 17, "character": 2}, "context": {"triggerKind": 1}})
    line_range = {"start": {"line": LIMIT_LINE, "character": 0}, "end": {"line": LIMIT_LINE, "character": 10}}
    actions = await client.call("textDocument/codeAction", {
        "textDocument": {"uri": config_uri}, "range": line_range,
        "context": {"diagnostics": [{"range": line_range, "message": "Prefer Math.min/max", "source": "lint"}]}})
    fix = next(a for a in actions.result if a["title"].startswith("Fix with AI"))
    answers["resolve"] = await client.call("codeAction/resolve", fix)
    function_range = {"start": {"line": LIMIT_LINE - 1, "character": 0},
                      "end": {"line": LIMIT_LINE + 1, "character": 1}}
    started = await client.call("workspace/executeCommand", {"command": "aiCodingRouter.runTask", "arguments": [{
        "uri": config_uri, "kind": "refactor", "instruction": "Avoid the clamp helper.", "range": function_range}]})
    assert started.ok, started.error
    answers["job-start"] = started
    await wait_for(client, lambda s: s["runningJobs"] == 0, "the job to finish", timeout=120)
    answers["jobs"] = await client.call("workspace/executeCommand", {"command": "aiCodingRouter.listJobs"})
    answers["cost-report"] = await client.call("workspace/executeCommand", {"command": "aiCodingRouter.costReport"})
    answers["cost-summary"] = await client.call("aiCodingRouter/costSummary", {})
    answers["status"] = await client.call("aiCodingRouter/serverStatus", {})
    return answers


async def test_the_api_key_and_planted_secrets_go_nowhere(tmp_path: Path, fake_api: FakeAnthropic) -> None:
    api_key = f"sk-ant-api03-PLANTEDKEY-{uuid.uuid4().hex}"
    workspace = copy_workspace(tmp_path / "ws")
    planted = plant_secrets(workspace)
    fake_api.set_default(fake_reply)
    stderr_path = tmp_path / "server-stderr.log"
    env = server_env(base_url=fake_api.base_url, api_key=api_key)
    client = await RawLsp.start(env, cwd=workspace, stderr_path=stderr_path, record=True,
                                argv=[*SERVER_ARGV, "--log-level", "DEBUG"])  # the most talkative logs
    try:
        initialized = await client.initialize(workspace, VSCODE_LIKE_CAPABILITIES)
        assert initialized.ok
        answers = await full_run(client, workspace)
    finally:
        exit_code = await client.close()
    assert exit_code == 0
    assert all(a.ok for a in answers.values()), {k: a.error for k, a in answers.items() if not a.ok}
    job = answers["jobs"].result[0]
    assert job["status"] in ("validated", "failed"), job  # a final state
    assert "today" in answers["cost-summary"].result and answers["cost-report"].result["text"]

    # 1. The key is used — in the auth header, and only there.
    requests = fake_api.requests
    assert len(requests) >= 4  # two completions, a quick fix, the job
    auth_headers = {"authorization", "x-api-key"}
    for record in requests:
        assert record.headers.get("authorization") == f"Bearer {api_key}" or record.headers.get("x-api-key") == api_key
        others = json.dumps({k: v for k, v in record.headers.items() if k not in auth_headers})
        assert api_key not in others and api_key not in record.raw_body.decode("utf-8", "replace")
    # 2. ... never in the server's logs (DEBUG, so the SDK and pygls log every request and message) ...
    log = stderr_path.read_bytes()
    assert b"/v1/messages" in log and b"Sending data" in log  # the logs really are verbose
    assert api_key.encode() not in log
    # 3. ... never in any LSP traffic, either way ...
    assert len(client.received) > 10_000 and api_key.encode() not in client.received
    assert api_key.encode() not in client.sent
    # 4. ... never in the ledger, the job store or the index cache (raw bytes, WAL files included).
    state_files = [p for p in (workspace / ".ai-coding-router").rglob("*") if p.is_file()]
    assert any(p.name.startswith("ledger.sqlite3") for p in state_files)
    assert any(p.name.startswith("jobs.sqlite3") for p in state_files)
    for path in state_files:
        assert api_key.encode() not in path.read_bytes(), path
    # 5. Planted workspace secrets never reach the API, while the code around them does.
    bodies = [r.raw_body.decode("utf-8", "replace") for r in requests]
    assert any("function limit(n: number)" in body for body in bodies)
    assert any("[REDACTED]" in body for body in bodies)  # masked where they were
    for secret in planted:
        leaks = [r.path for r, body in zip(requests, bodies, strict=True) if secret in body]
        assert leaks == [], f"{secret[:12]}… reached the API in {len(leaks)} request(s)"


def test_tools_get_an_environment_without_secrets() -> None:
    source = {"ANTHROPIC_API_KEY": "sk-ant-x", "ANTHROPIC_AUTH_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "a",
              "GITHUB_TOKEN": "g", "NPM_TOKEN": "n", "DB_PASSWORD": "p", "PATH": "/usr/bin", "HOME": "/home/u",
              "LC_ALL": "C.UTF-8", "LC_SECRET_KEY": "s"}
    env = clean_env(source=source)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/u" and env["LC_ALL"] == "C.UTF-8"
    assert not {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN",
                "NPM_TOKEN", "DB_PASSWORD", "LC_SECRET_KEY"} & set(env)


async def test_a_real_tool_subprocess_sees_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"sk-ant-api03-{uuid.uuid4().hex}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    run = await run_tool([sys.executable, "-c", dump], cwd=tmp_path, timeout_s=30)
    seen = json.loads(run.stdout)
    assert run.returncode == 0 and "PATH" in seen
    assert not [name for name in seen if name.startswith("ANTHROPIC_")]
    assert key not in run.stdout


def _spawn_sites() -> dict[str, list[str]]:
    """Every call in the package that starts a process, as {file: [call + keywords]}."""
    spawners = {
        "subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"},
        "os": {"system", "popen", "posix_spawn", "posix_spawnp", "spawnv", "spawnve", "spawnvp", "spawnl",
               "execv", "execve", "execvp", "execvpe", "execl", "startfile"},
        "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    }
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            owner_name = (owner.id if isinstance(owner, ast.Name)
                          else owner.attr if isinstance(owner, ast.Attribute) else "")
            if node.func.attr in spawners.get(owner_name, ()):
                keywords = ",".join(sorted(k.arg or "**" for k in node.keywords))
                if any(k.arg == "shell" for k in node.keywords):  # not even shell=False: argument lists only
                    raise AssertionError(f"{path.relative_to(PACKAGE)}:{node.lineno}: a process started with shell=")
                rel = str(path.relative_to(PACKAGE))
                found.setdefault(rel, []).append(f"{owner_name}.{node.func.attr}({keywords})")
    return found


def test_no_shell_anywhere_and_tools_run_with_the_clean_environment() -> None:
    sites = _spawn_sites()
    flat = [call for calls in sites.values() for call in calls]
    assert not [c for c in flat if c.split("(")[0] in ("os.system", "os.popen", "asyncio.create_subprocess_shell",
                                                      "subprocess.getoutput", "subprocess.getstatusoutput")]
    # tsc, eslint and vitest all start through validation.tools.run_tool, with env=clean_env(...).
    assert sites["validation/tools.py"] == [
        "asyncio.create_subprocess_exec(cwd,env,start_new_session,stderr,stdin,stdout)"]
    tools = (PACKAGE / "validation" / "tools.py").read_text()
    assert "env=clean_env(env)" in tools
    # Any other process the package starts is reviewed here: git (key removed), `doctor` (node --version,
    # and the server itself, which needs the key) and the index's extraction worker (allow-listed env).
    assert set(sites) == {"validation/tools.py", "ledger/git.py", "commands/doctor_cmd.py",
                          "context/extractor.py"}, sites
    assert sites["ledger/git.py"] == ["subprocess.run(capture_output,check,env,text,timeout)"]
    # node --version gets the tools' environment; only the server itself is started with the key.
    assert "subprocess.run(capture_output,env,text,timeout)" in sites["commands/doctor_cmd.py"]
    assert sites["context/extractor.py"] == ["asyncio.create_subprocess_exec(cwd,env,stderr,stdin,stdout)"]
    assert "env=worker_env()" in (PACKAGE / "context" / "extractor.py").read_text()


# -- trust and symlinks, through the real server -----------------------------------------------------------

SUM_BODY = "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;"
SUM_REDUCE = "  return values.reduce((total, value) => total + value, 0);"
SUM_RANGE = {"start": {"line": 11, "character": 0}, "end": {"line": 17, "character": 1}}


class Editor:
    def __init__(self, client: LanguageClient) -> None:
        self.edits: list[types.ApplyWorkspaceEditParams] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    return as_plain(await asyncio.wait_for(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))), 30))


async def finished_job(client: LanguageClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job: dict[str, Any] = next(j for j in await execute(client, "aiCodingRouter.listJobs") if j["jobId"] == job_id)
        if job["status"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_workspace_tests_run_only_when_trusted(
    tmp_path: Path, fake_api: FakeAnthropic, trusted: bool
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    marker = tmp_path / "workspace-code-ran.txt"
    # A workspace test that leaves a mark when executed: running it runs the workspace's own code.
    (workspace / "src" / "math.test.js").write_text(
        'import { writeFileSync } from "node:fs";\nimport { expect, test } from "vitest";\n'
        'import { sum } from "./math";\n\n'
        f'test("sum adds", () => {{\n  writeFileSync({json.dumps(str(marker))}, "ran");\n'
        "  expect(sum([1, 2])).toBe(3);\n});\n")
    (workspace / "ai-coding-router.config.yaml").write_text("validation:\n  allow_running_tests: true\n")
    fake_api.script(FAST, block("src/math.ts", SUM_BODY, SUM_REDUCE))
    env = server_env(base_url=fake_api.base_url, api_key="sk-ant-e2e-trust-0123456789")
    async with lsp_session(workspace, env=env, initialization_options={"workspaceTrusted": trusted}) as client:
        Editor(client)
        uri = open_document(client, workspace / "src" / "math.ts")
        started = await execute(client, "aiCodingRouter.runTask", {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        job = await finished_job(client, started["jobId"])
    assert job["status"] == "validated", job
    skipped = any("tests were not run: the workspace is not trusted" in note for note in job["notes"])
    assert skipped is (not trusted)
    assert marker.exists() is trusted


async def test_model_output_cannot_write_through_a_symlink(tmp_path: Path, fake_api: FakeAnthropic) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "target.ts"
    target.write_text("export const untouched = true;\n")
    (workspace / "linked").symlink_to(outside, target_is_directory=True)  # a directory link leaving the workspace
    (workspace / "src" / "alias.ts").symlink_to(target)  # a file link leaving it
    evil = (block("linked/evil.ts", "", "export const pwned = true;")
            + block("src/alias.ts", "export const untouched = true;", "export const untouched = false;")
            + block("linked/target.ts", "export const untouched = true;", "export const pwned = true;"))
    fake_api.set_default(Reply(text=evil))  # the generate call and every repair answer the same
    env = server_env(base_url=fake_api.base_url, api_key="sk-ant-e2e-symlink-0123456789")
    async with lsp_session(workspace, env=env) as client:
        editor = Editor(client)
        uri = open_document(client, workspace / "src" / "math.ts")
        started = await execute(client, "aiCodingRouter.runTask", {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        job = await finished_job(client, started["jobId"])
        await asyncio.sleep(0.3)
        assert job["status"] == "failed" and job["applicable"] is False, job
        assert editor.edits == []
    assert sorted(p.name for p in outside.iterdir()) == ["target.ts"]
    assert target.read_text() == "export const untouched = true;\n"
    repairs = [r.raw_body.decode() for r in fake_api.requests[1:]]
    assert repairs and all("outside-workspace" in body for body in repairs)  # refused, and told why
    assert (workspace / "src" / "alias.ts").is_symlink()  # nothing replaced the link either
