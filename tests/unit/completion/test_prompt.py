"""The fill-in-the-middle prompt: order for caching, trimming, the cache key, the fallback context."""

from __future__ import annotations

from ai_coding_router.completion.prompt import (
    HOLE,
    INSERT_CLOSE,
    SYSTEM_STABLE,
    build_completion_request,
    prompt_key,
    until_enclosing_scope,
)
from ai_coding_router.models.base import ModelRequest


def _request(**overrides: object) -> ModelRequest:
    args: dict[str, object] = {
        "path": "src/app.ts",
        "language_id": "typescript",
        "prefix": "function add(a: number, b: number) {\n  return ",
        "suffix": "\n}\n",
        "context_snippets": [("src/types.ts", "export interface Item { value: number }")],
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "deadline_s": 1.5,
    }
    args.update(overrides)
    return build_completion_request(**args)  # type: ignore[arg-type]


def test_stable_part_first_snippets_next_dynamic_part_in_the_user_message() -> None:
    request = _request()
    other = _request(path="src/other.ts", prefix="let x = ", suffix=";\n", context_snippets=[])
    moved = _request(prefix="function add(a: number, b: number) {\n  return a", suffix="\n}\n")
    # The cached prefix: the fixed instructions, then the pruned context (stable while the cursor stays
    # near one spot); the file around the cursor is never part of it.
    assert other.system_stable == SYSTEM_STABLE
    assert request.system_stable.startswith(SYSTEM_STABLE)
    assert request.system_stable == moved.system_stable
    assert "add(" not in request.system_stable
    assert 'path="src/types.ts"' in request.system_stable
    assert "export interface Item { value: number }" in request.system_stable
    assert request.system_dynamic == other.system_dynamic == ""
    [message] = request.messages
    assert message.role == "user"
    assert "function add(a: number, b: number) {\n  return " + HOLE + "\n}\n" in message.text
    assert 'path="src/app.ts"' in message.text


def test_request_is_interactive_and_ends_at_the_closing_marker() -> None:
    request = _request()
    assert request.model == "claude-sonnet-4-6"
    assert request.max_tokens == 64
    assert request.deadline_s == 1.5
    assert request.max_retries == 0
    assert INSERT_CLOSE in request.stop_sequences
    assert request.tags == {"task_type": "inline_completion"}


def test_prefix_and_suffix_are_trimmed_to_the_nearest_whole_lines() -> None:
    prefix = "".join(f"const line{i} = {i};\n" for i in range(1000)) + "const cur = "
    suffix = ";\n" + "".join(f"const after{i} = {i};\n" for i in range(1000))
    request = _request(prefix=prefix, suffix=suffix, prefix_budget=300, suffix_budget=200)
    text = request.messages[0].text
    before, after = text.split(HOLE)
    body_before = before.split("\n", 1)[1]  # drop the <file ...> line
    assert len(body_before) <= 300
    assert body_before.startswith("const line")  # a whole line, not a fragment
    assert body_before.endswith("const line999 = 999;\nconst cur = ")  # the nearest lines are kept
    body_after = after.rsplit("\n</file>", 1)[0]
    assert len(body_after) <= 200
    assert body_after.startswith(";\nconst after0 = 0;\n")
    assert body_after.endswith(";")  # ends at a line end


def test_a_cursor_line_longer_than_the_budget_keeps_its_tail() -> None:
    prefix = "x" * 500 + "END"
    request = _request(prefix=prefix, prefix_budget=50)
    before = request.messages[0].text.split(HOLE)[0].split("\n", 1)[1]
    assert before == prefix[-50:]


def test_context_snippets_respect_their_budget() -> None:
    snippets = [("a.ts", "\n".join(f"export const a{i} = {i};" for i in range(100))), ("b.ts", "export const b = 1;")]
    request = _request(context_snippets=snippets, context_budget=120)
    assert 'path="a.ts"' in request.system_stable
    assert 'path="b.ts"' not in request.system_stable  # the budget was spent on a.ts
    assert "export const a0 = 0;" in request.system_stable
    assert "export const a99" not in request.system_stable


def test_a_literal_marker_in_the_file_is_neutralised() -> None:
    request = _request(prefix=f"const s = '{HOLE}';\nconst t = ")
    assert request.messages[0].text.count(HOLE) == 1


def test_prompt_key_is_stable_and_covers_what_is_sent() -> None:
    key = prompt_key(_request())
    assert key == prompt_key(_request())
    assert key == prompt_key(_request(deadline_s=0.2))  # not sent: same key
    assert key != prompt_key(_request(prefix="function add(a: number, b: number) {\n  return a"))
    assert key != prompt_key(_request(model="claude-haiku-4-5"))
    assert key != prompt_key(_request(max_tokens=65))
    assert key != prompt_key(_request(context_snippets=[]))
    assert len(key) == 64


FILE = """\
import { a } from './a';
import {
  b,
  c,
} from './b';
import type { D } from "./d";

export class Service {
  private items: D[] = [];

  constructor() {}

  process(limit: number): number {
    let total = 0;
    for (const item of this.items) {
      total += item.value;
""" + "".join(f"      total += {i};\n" for i in range(200)) + """\
      CURSOR
    }
    return total;
  }
}
"""


def test_until_enclosing_scope_gives_imports_and_headers_outside_the_window() -> None:
    offset = FILE.index("CURSOR")
    text = FILE.replace("CURSOR", "")
    context = until_enclosing_scope(text, offset, window_chars=500)
    assert "import { a } from './a';" in context
    assert "import {\n  b,\n  c,\n} from './b';" in context
    assert 'import type { D } from "./d";' in context
    headers = context.split("// enclosing scope (bodies omitted)\n")[1].split("\n")
    # Classes, functions and methods; not control flow.
    assert headers == ["export class Service {", "  process(limit: number): number {"]
    assert "private items" not in context and "total += 3" not in context


def test_until_enclosing_scope_is_empty_when_the_window_shows_everything() -> None:
    offset = FILE.index("CURSOR")
    assert until_enclosing_scope(FILE.replace("CURSOR", ""), offset, window_chars=len(FILE)) == ""
