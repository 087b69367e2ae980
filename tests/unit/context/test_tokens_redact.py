"""The token estimate's properties, and secret redaction."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_coding_router.context import tokens
from ai_coding_router.context.redact import MASK, _redact_memo, is_secret_path, redact, shannon_entropy
from ai_coding_router.context.tokens import estimate_tokens, raw_estimate

from .conftest import AWS_KEY, JWT, PASSWORD, PRIVATE_KEY, PRIVATE_KEY_BODY

CODE = st.text(alphabet=st.sampled_from(list("abcXYZ_09 \n\t{}();.,:=<>'\"`/*é😀")), max_size=200)


def test_estimate_basics() -> None:
    assert estimate_tokens("") == 0
    short = estimate_tokens("const a = 1;")
    assert 4 <= short <= 20
    line = "export function getUserById(id: string): Promise<User> {"
    assert estimate_tokens(line * 10) > estimate_tokens(line)
    # Non-ASCII text costs at least a token per byte in the estimate (byte-level fallback).
    assert estimate_tokens("ទិន្នន័យ") >= len("ទិន្នន័យ".encode())


@settings(max_examples=300, deadline=None)
@given(a=CODE, b=CODE)
def test_estimate_of_joined_text_never_exceeds_the_sum(a: str, b: str) -> None:
    assert estimate_tokens(a + b) <= estimate_tokens(a) + estimate_tokens(b)


def whole_text_estimate(text: str) -> float:
    """The estimate computed on the whole text at once (how it was before it went line by line)."""
    value = (tokens.W_SUBWORD * len(re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", text))
             + tokens.W_CAPS * sum(len(m) for m in re.findall(r"[A-Z]{2,}", text))
             + tokens.W_PUNCT * len(re.findall(r"[!-/:-@\[-`{-~]", text))
             + tokens.W_NEWLINE * text.count("\n"))
    if not text.isascii():
        value += tokens.W_NON_ASCII_BYTE * sum(len(m.encode("utf-8")) for m in re.findall(r"[^\x00-\x7f]+", text))
    return value


@settings(max_examples=300, deadline=None)
@given(text=CODE)
def test_the_line_by_line_estimate_equals_the_whole_text_estimate(text: str) -> None:
    assert raw_estimate(text) == whole_text_estimate(text)


def test_windows_of_known_lines_are_not_kept_whole() -> None:
    """A window of lines around the cursor is new text at every keystroke: only its lines are memoised."""
    lines = [f"  const value{i} = compute(items[{i}]);" for i in range(40)]
    tokens._line_counts.cache_clear()
    for start in range(30):
        raw_estimate("\n".join(lines[start : start + 10]))
    assert tokens._line_counts.cache_info().currsize <= len(lines)
    _redact_memo.cache_clear()
    window = "\n".join(lines) * 10  # longer than any memoised text
    assert redact(window) == window
    assert _redact_memo.cache_info().currsize == 0


def test_secret_paths() -> None:
    for path in (
        ".env",
        ".env.local",
        "config/.env.production",
        "prod.env",
        "certs/server.pem",
        "tls.key",
        "id_rsa",
        "id_ed25519.pub",
        "store.p12",
        "credentials",
        ".npmrc",
        "a/credentials.json",
    ):
        assert is_secret_path(path), path
    for path in ("src/env.ts", "src/keys.ts", "environment.ts", "README.md", "src/token.ts"):
        assert not is_secret_path(path), path


def test_redaction_masks_planted_credentials_and_keeps_lines() -> None:
    text = (
        f'const awsAccessKeyId = "{AWS_KEY}";\n'
        f"const key = `{PRIVATE_KEY}`;\n"
        f'const session = "{JWT}";\n'
        f"const config = {{ password: \"{PASSWORD}\", apiKey: 'sk_live_{'a1B2' * 6}' }};\n"
        'const url = "postgres://admin:hunter2secret@db:5432/app";\n'
        'const token = "Bearer";\n'  # not a credential: no digits, low entropy
        'const placeholder = { secret: "${SECRET}" };\n'
    )
    masked = redact(text)
    for value in (AWS_KEY, PRIVATE_KEY_BODY, JWT, PASSWORD, "hunter2secret", "a1B2a1B2"):
        assert value not in masked
    assert masked.count("\n") == text.count("\n")
    assert MASK in masked
    assert 'const token = "Bearer";' in masked
    assert "${SECRET}" in masked
    assert redact("const total = add(a, b);\n") == "const total = add(a, b);\n"


def test_high_entropy_value_assigned_to_a_secret_name() -> None:
    value = "q8Zr2LmX0vB7nT4wK9sY"
    assert shannon_entropy(value) > 3.0
    assert value not in redact(f'clientSecret: "{value}",')
    assert "readme-title" in redact('title: "readme-title",')
