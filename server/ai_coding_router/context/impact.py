"""Cheap facts about a code range for the routing classifier. Pure: reads only the snapshot.

``impact(snapshot, path, start_line, end_line)`` says which symbols the range defines, how many files use
them (directly — through barrels and re-export chains — and one level further), and whether the file or
the range touches a security surface (auth, crypto, secrets, process execution, raw HTML, SQL …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .index import IndexSnapshot
from .prune import workspace_path
from .resolve import module_exports

_TEST_FILE = re.compile(r"(^|/)(__tests__|tests?)/|\.(test|spec)\.[cm]?[jt]sx?$")
_SECURITY_WORDS = re.compile(
    r"(?i)auth|login|logout|passw|credential|secret|token|session|cookie|crypt|cipher|hash|sign(?:ature|in|up)"
    r"|jwt|oauth|saml|permission|role|acl|rbac|privilege|sanitiz|escape|csrf|xss|cors|payment|billing|admin"
)
_SECURITY_MODULES = (
    "crypto",
    "node:crypto",
    "bcrypt",
    "bcryptjs",
    "argon2",
    "jsonwebtoken",
    "jose",
    "passport",
    "express-session",
    "cookie",
    "cookie-parser",
    "helmet",
    "csurf",
    "child_process",
    "node:child_process",
    "vm",
    "node:vm",
    "fs",
    "node:fs",
    "fs/promises",
    "node:fs/promises",
    "pg",
    "mysql",
    "mysql2",
    "sqlite3",
    "better-sqlite3",
    "dompurify",
    "sanitize-html",
    "xss",
    "oauth",
    "openid-client",
    "next-auth",
    "@auth/core",
)
_DANGEROUS_CODE = (
    (re.compile(r"\beval\s*\("), "eval()"),
    (re.compile(r"\bnew\s+Function\s*\("), "new Function()"),
    (re.compile(r"\b(?:exec|execSync|spawn|spawnSync|execFile)\s*\("), "process execution"),
    (re.compile(r"\.innerHTML\s*=|dangerouslySetInnerHTML|\.outerHTML\s*=|document\.write\s*\("), "raw HTML"),
    (re.compile(r"(?i)\b(?:select|insert|update|delete)\b[^;\n]{0,80}\$\{"), "SQL built from a template"),
    (re.compile(r"\b(?:localStorage|sessionStorage)\.setItem\s*\("), "browser storage"),
    (re.compile(r"\bcreateHash|createHmac|createCipheriv|randomBytes|timingSafeEqual"), "cryptography"),
)


@dataclass(frozen=True)
class ImpactFacts:
    path: str
    start_line: int
    end_line: int
    symbols: tuple[str, ...]  # definitions overlapping the range ("Class.method" for members)
    exported_symbols: tuple[str, ...]  # the top-level exported names among them
    direct_references: int  # other files that use those exports (barrels followed)
    transitive_references: int  # files that use those files: one more level
    referencing_modules: int  # distinct top-level folders/packages among the direct references
    security_surface: bool
    security_reasons: tuple[str, ...]
    is_test: bool
    lines: int


def impact(snapshot: IndexSnapshot, path: str, start_line: int, end_line: int | None = None) -> ImpactFacts:
    rel = workspace_path(snapshot, path)
    end = start_line if end_line is None else max(start_line, end_line)
    symbols = snapshot.files.get(rel)
    defined = [d for d in symbols.definitions if d.start_line <= end and start_line <= d.end_line] if symbols else []
    exported = tuple(dict.fromkeys(d.name for d in defined if d.exported and not d.container))
    members = {d.container for d in defined if d.container and d.exported}
    names = set(exported) | members
    direct = _users(snapshot, rel, names) if names else set()
    transitive = set(direct)
    for user in direct:
        transitive |= set(snapshot.importers.get(user, frozenset()))
    transitive.discard(rel)
    modules = {p.split("/")[0] if "/" in p else "." for p in direct}
    reasons = _security_reasons(snapshot, rel, start_line, end, [d.qualified for d in defined])
    return ImpactFacts(
        path=rel,
        start_line=start_line,
        end_line=end,
        symbols=tuple(dict.fromkeys(d.qualified for d in defined)),
        exported_symbols=exported,
        direct_references=len(direct),
        transitive_references=len(transitive),
        referencing_modules=len(modules),
        security_surface=bool(reasons),
        security_reasons=reasons,
        is_test=bool(_TEST_FILE.search(rel)),
        lines=end - start_line + 1,
    )


def _users(snapshot: IndexSnapshot, rel: str, names: set[str]) -> set[str]:
    """Files that use any of ``names`` exported by ``rel``, following barrels that re-export them."""
    users: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    queue: list[tuple[str, frozenset[str]]] = [(rel, frozenset(names))]
    while queue:
        module, wanted = queue.pop()
        if (module, wanted) in seen:
            continue
        seen.add((module, wanted))
        for importer in sorted(snapshot.importers.get(module, frozenset())):
            symbols = snapshot.files.get(importer)
            if symbols is None:
                continue
            forwarded: set[str] = set()
            for index, record in enumerate(symbols.imports):
                if snapshot.target_of(importer, index) != module:
                    continue
                if record.kind == "reexport_all":
                    forwarded |= wanted
                    continue
                for binding in record.bindings:
                    if binding.imported == "*":
                        if record.kind == "reexport":
                            forwarded |= wanted  # export * as ns: users reach them as ns.x
                        elif any(symbols.references.get(n, 0) > 0 for n in wanted):
                            users.add(importer)
                    elif binding.imported in wanted:
                        if record.kind == "reexport":
                            forwarded.add(binding.local)
                        else:
                            users.add(importer)
            local_exports = {e.exported for e in symbols.exports if e.local in wanted}
            forwarded |= local_exports
            if forwarded and importer != rel:
                exported_here = set(module_exports(snapshot.files, snapshot.target_of, importer))
                queue.append((importer, frozenset(forwarded & exported_here or forwarded)))
    users.discard(rel)
    return users


def _security_reasons(
    snapshot: IndexSnapshot, rel: str, start: int, end: int, symbol_names: list[str]
) -> tuple[str, ...]:
    reasons: list[str] = []
    in_path = _SECURITY_WORDS.search(rel)
    if in_path:
        reasons.append(f"path: {in_path.group(0)}")
    for name in symbol_names:
        match = _SECURITY_WORDS.search(name)
        if match:
            reasons.append(f"symbol {name}: {match.group(0)}")
            break
    symbols = snapshot.files.get(rel)
    if symbols is not None:
        for record in symbols.imports:
            if record.specifier in _SECURITY_MODULES or record.specifier.split("/")[0] in _SECURITY_MODULES:
                reasons.append(f"imports {record.specifier}")
    lines = snapshot.text(rel).split("\n")[start : end + 1]
    text = "\n".join(lines)
    for pattern, label in _DANGEROUS_CODE:
        if pattern.search(text):
            reasons.append(label)
    return tuple(dict.fromkeys(reasons))
