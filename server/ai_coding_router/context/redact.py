"""Secrets never leave the machine: secret files are refused, credential-looking literals are masked.

``is_secret_path`` names files that are never read into context at all (``.env*``, keys, certificates,
keystores, credential files). ``redact`` masks literals in text that is about to be sent: AWS access keys,
private key blocks, JWTs, well-known token formats, and high-entropy strings assigned to names such as
``secret``/``token``/``password``/``apiKey``. Masking keeps line breaks, so line numbers stay valid.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import PurePosixPath

MASK = "[REDACTED]"

_SECRET_NAMES = frozenset(
    {
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "credentials",
        "credentials.json",
        "credentials.yaml",
        "credentials.yml",
        ".netrc",
        "_netrc",
        ".npmrc",
        ".pypirc",
        ".pgpass",
        ".htpasswd",
        ".git-credentials",
        "secrets.json",
        "secrets.yaml",
        "secrets.yml",
        "service-account.json",
        ".dockercfg",
    }
)
_SECRET_SUFFIXES = (
    ".pem",
    ".key",
    ".p12",
    ".pfx",
    ".jks",
    ".keystore",
    ".crt",
    ".cer",
    ".der",
    ".p8",
    ".kdbx",
    ".gpg",
    ".asc",
    ".ppk",
    ".tfstate",
    ".tfvars",
)


def is_secret_path(path: str) -> bool:
    """True for files whose content must never be sent, whatever it holds."""
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return True
    if name in _SECRET_NAMES or name.startswith("id_rsa") or name.startswith("id_ed25519"):
        return True
    return name.endswith(_SECRET_SUFFIXES)


_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),  # AWS key id
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWT
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"),  # GitHub
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),  # Slack
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),  # Stripe
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}\b"),  # Anthropic / OpenAI style
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
    re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"),  # npm token
    re.compile(r"\b(?:https?|postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqp)://[^\s:/@'\"`]+:([^\s@'\"`]+)@"),
)
# name = "value" / name: 'value' / "name": "value", where the name says it holds a credential.
_ASSIGNED = re.compile(
    r"""(?ix)
    (?P<name>[\w$.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key
        |client[_-]?secret|auth[_-]?key|credential|signing[_-]?key|session[_-]?key)[\w$-]*)
    ["']?\s*(?::\s*[\w<>\[\]| ]+?\s*)?[:=]\s*
    (?P<quote>["'`])(?P<value>[^"'`\n]{8,})(?P=quote)
    """
)
# A line of base64 alone: the inside of a key or certificate block, even when a window cut off its
# BEGIN line.
_BASE64_LINE = re.compile(r"(?m)^([\s\"'`]*)([A-Za-z0-9+/]{40,}={0,2})([\s\"'`,;]*)$")
_AWS_SECRET = re.compile(r"""(?i)aws.{0,24}?["'`]([A-Za-z0-9/+=]{40})["'`]""")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x+|\*+|\.+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|changeme|placeholder|example.*|your[_-].*)$"
)


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def _looks_secret(value: str) -> bool:
    if _PLACEHOLDER.match(value) or " " in value.strip():
        return False
    if len(value) >= 16 and shannon_entropy(value) >= 3.0:
        return True
    return len(value) >= 8 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _mask_keep_lines(text: str) -> str:
    return "\n".join([MASK] + [""] * text.count("\n")) if "\n" in text else MASK


_TRIGGER = re.compile(
    r"(?i)[A-Za-z0-9+/]{40}|PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|eyJ"
    r"|gh[pousr]_|github_pat_|xox|sk_|rk_|sk-|AIza|npm_|://|aws|secret|token|passw|pwd|key|credential"
)


MEMO_MAX_CHARS = 1024  # lines and signatures repeat from one request to the next; whole windows do not


def redact(text: str) -> str:
    """Mask every credential-looking literal; the line count of ``text`` is unchanged. Memoised for short
    texts (the same lines and signatures are rendered again and again); a long text is usually new, and
    keeping thousands of them alive made the server's memory grow with every request."""
    return _redact_memo(text) if len(text) <= MEMO_MAX_CHARS else _redact(text)


def _redact(text: str) -> str:
    if _TRIGGER.search(text) is None:
        return text  # the common case, one cheap scan
    text = _PRIVATE_KEY.sub(lambda m: _mask_keep_lines(m.group(0)), text)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(0).replace(m.group(1), MASK), text)
        else:
            text = pattern.sub(MASK, text)
    text = _AWS_SECRET.sub(lambda m: m.group(0).replace(m.group(1), MASK), text)
    text = _BASE64_LINE.sub(
        lambda m: m.group(1) + MASK + m.group(3) if shannon_entropy(m.group(2)) >= 4.0 else m.group(0), text
    )

    def assigned(match: re.Match[str]) -> str:
        value = match.group("value")
        if value == MASK or MASK in value or not _looks_secret(value):
            return match.group(0)
        start, end = match.span("value")
        whole_start = match.start()
        return match.group(0)[: start - whole_start] + MASK + match.group(0)[end - whole_start :]

    return _ASSIGNED.sub(assigned, text)


_redact_memo = lru_cache(maxsize=8192)(_redact)


def contains_secret(text: str) -> bool:
    return redact(text) != text
