"""Pure extraction of imports, exports, definitions and references from a tree-sitter tree.

Nothing here reads files or keeps state: ``extract(tree, source)`` → ``FileSymbols``. Lines are 0-based
tree-sitter rows. ``signature`` is a compact rendering of a definition with function bodies elided
(``{ … }``), which is what the pruner sends for most definitions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Literal

import tree_sitter

from .languages import GrammarName, language

ImportKind = Literal["import", "side_effect", "reexport", "reexport_all", "dynamic", "require"]
DefKind = Literal[
    "function", "class", "method", "property", "interface", "type", "enum", "const", "variable", "namespace"
]

ELIDED = "{ … }"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")

# Words that look like identifiers in a signature but never name a definition.
KEYWORDS = frozenset(
    {
        "abstract",
        "any",
        "as",
        "asserts",
        "async",
        "await",
        "bigint",
        "boolean",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "constructor",
        "continue",
        "debugger",
        "declare",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "from",
        "function",
        "get",
        "if",
        "implements",
        "import",
        "in",
        "infer",
        "instanceof",
        "interface",
        "is",
        "keyof",
        "let",
        "module",
        "namespace",
        "never",
        "new",
        "null",
        "number",
        "object",
        "of",
        "override",
        "package",
        "private",
        "protected",
        "public",
        "readonly",
        "require",
        "return",
        "satisfies",
        "set",
        "static",
        "string",
        "super",
        "switch",
        "symbol",
        "this",
        "throw",
        "true",
        "try",
        "type",
        "typeof",
        "undefined",
        "unique",
        "unknown",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "Array",
        "Promise",
        "Record",
        "Partial",
        "Readonly",
        "Pick",
        "Omit",
        "Map",
        "Set",
        "Date",
        "Error",
        "RegExp",
        "Function",
        "Object",
        "String",
        "Number",
        "Boolean",
        "Symbol",
        "ReadonlyArray",
        "Iterable",
        "Exclude",
        "Extract",
        "NonNullable",
        "ReturnType",
        "Parameters",
        "InstanceType",
        "Awaited",
        "Required",
        "PromiseLike",
    }
)


@dataclass(frozen=True, slots=True)
class ImportBinding:
    """``local`` is the name bound here (for a re-export: the name exported); ``imported`` is the name in
    the target module: an export name, ``default``, or ``*`` for the whole module (namespace)."""

    local: str
    imported: str
    type_only: bool = False


@dataclass(frozen=True, slots=True)
class ImportRecord:
    specifier: str
    kind: ImportKind
    bindings: tuple[ImportBinding, ...]
    line: int
    type_only: bool = False


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """A local export: ``exported`` is the name importers see, ``local`` the binding it refers to."""

    exported: str
    local: str


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: DefKind
    start_line: int  # first line of the declaration (decorators/``export`` included, doc comment not)
    end_line: int  # inclusive
    name_line: int
    doc_start_line: int | None  # first line of the leading comment attached to it, if any
    container: str  # the enclosing class or namespace for members, "" at top level
    exported: bool
    signature: str
    refs: tuple[str, ...]  # names used in the signature (parameter/return/heritage types …)

    @property
    def qualified(self) -> str:
        return f"{self.container}.{self.name}" if self.container else self.name


@dataclass(frozen=True)
class FileSymbols:
    imports: tuple[ImportRecord, ...]
    exports: tuple[ExportRecord, ...]
    definitions: tuple[Definition, ...]
    references: Mapping[str, int] = field(default_factory=dict)  # identifier → occurrences
    line_count: int = 0
    syntax_errors: int = 0

    def top_level(self) -> Iterator[Definition]:
        return (d for d in self.definitions if not d.container)

    @cached_property
    def imported_locals(self) -> frozenset[str]:
        """The local names this file's imports bind."""
        return frozenset(b.local for r in self.imports for b in r.bindings)

    @cached_property
    def usage_outside_imports(self) -> Mapping[str, int]:
        """How often each name is used outside its import statement (may be negative for unused imports)."""
        counts = dict(self.references)
        for record in self.imports:
            for binding in record.bindings:
                counts[binding.local] = counts.get(binding.local, 0) - 1
                if binding.imported not in (binding.local, "*", "default"):
                    counts[binding.imported] = counts.get(binding.imported, 0) - 1
        return counts

    @cached_property
    def by_name(self) -> Mapping[str, tuple[Definition, ...]]:
        """Top-level definitions by name (overloads and merged declarations share a name)."""
        table: dict[str, list[Definition]] = {}
        for d in self.definitions:
            if not d.container:
                table.setdefault(d.name, []).append(d)
        return {k: tuple(v) for k, v in table.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "i": [
                [r.specifier, r.kind, [[b.local, b.imported, b.type_only] for b in r.bindings], r.line, r.type_only]
                for r in self.imports
            ],
            "e": [[e.exported, e.local] for e in self.exports],
            "d": [
                [
                    d.name,
                    d.kind,
                    d.start_line,
                    d.end_line,
                    d.name_line,
                    d.doc_start_line,
                    d.container,
                    d.exported,
                    d.signature,
                    list(d.refs),
                ]
                for d in self.definitions
            ],
            "r": dict(self.references),
            "n": self.line_count,
            "x": self.syntax_errors,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> FileSymbols:
        return FileSymbols(
            imports=tuple(
                ImportRecord(s, k, tuple(ImportBinding(a, b, bool(t)) for a, b, t in bs), int(ln), bool(to))
                for s, k, bs, ln, to in data["i"]
            ),
            exports=tuple(ExportRecord(a, b) for a, b in data["e"]),
            definitions=tuple(
                Definition(n, k, s, e, nl, ds, c, bool(x), sig, tuple(refs))
                for n, k, s, e, nl, ds, c, x, sig, refs in data["d"]
            ),
            references=dict(data["r"]),
            line_count=int(data["n"]),
            syntax_errors=int(data["x"]),
        )


_CALL_QUERY = """
(call_expression function: (import) arguments: (arguments . (string (string_fragment) @dynamic)))
(call_expression function: (identifier) @fn arguments: (arguments . (string (string_fragment) @require)))
"""
_REF_QUERY = """
(identifier) @ref
(type_identifier) @ref
(shorthand_property_identifier) @ref
(property_identifier) @member
"""


@cache
def _query(grammar: GrammarName, source: str) -> tree_sitter.Query:
    return tree_sitter.Query(language(grammar), source)


def _grammar_of(tree: tree_sitter.Tree) -> GrammarName:
    return "tsx" if tree.language == language("tsx") else "typescript"


def _text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def _string_value(node: tree_sitter.Node | None) -> str | None:
    if node is None or node.type not in ("string", "template_string"):
        return None
    fragment = next((c for c in node.named_children if c.type == "string_fragment"), None)
    if fragment is None:
        return "" if node.type == "string" else None
    return _text(fragment)


def _has_token(node: tree_sitter.Node, token: str) -> bool:
    return any(not c.is_named and c.type == token for c in node.children)


def extract(tree: tree_sitter.Tree, source: bytes) -> FileSymbols:
    """Everything the index needs from one file."""
    root = tree.root_node
    imports: list[ImportRecord] = []
    exports: dict[ExportRecord, None] = {}  # an ordered set: `record in list` made large files quadratic
    definitions: list[Definition] = []
    for node in root.named_children:
        _statement(node, source, imports, exports, definitions, container="")
    grammar = _grammar_of(tree)
    imports.extend(_calls(grammar, root))
    imports.sort(key=lambda record: record.line)
    references, errors = _references(grammar, root)
    line_count = source.count(b"\n") + 1
    return FileSymbols(tuple(imports), tuple(exports), tuple(definitions), references, line_count, errors)


def _statement(
    node: tree_sitter.Node,
    source: bytes,
    imports: list[ImportRecord],
    exports: dict[ExportRecord, None],
    definitions: list[Definition],
    container: str,
) -> None:
    kind = node.type
    if kind == "import_statement":
        record = _import(node)
        if record is not None:
            imports.append(record)
    elif kind == "export_statement":
        _export(node, source, imports, exports, definitions, container)
    elif kind == "ambient_declaration":
        for child in node.named_children:
            _statement(child, source, imports, exports, definitions, container)
    elif kind == "expression_statement":
        inner = node.named_children[0] if node.named_children else None
        if inner is not None and inner.type == "internal_module":  # namespace Foo { … }
            _declaration(inner, node, source, definitions, container, exported=False)
    else:
        _declaration(node, node, source, definitions, container, exported=False)


def _import(node: tree_sitter.Node) -> ImportRecord | None:
    line = node.start_point[0]
    type_only = _has_token(node, "type")
    source_node = node.child_by_field_name("source")
    require_clause = next((c for c in node.named_children if c.type == "import_require_clause"), None)
    if require_clause is not None:  # import x = require("y")
        spec = _string_value(require_clause.child_by_field_name("source"))
        name = next((c for c in require_clause.named_children if c.type == "identifier"), None)
        if spec is None:
            return None
        required = (ImportBinding(_text(name), "*", type_only),) if name is not None else ()
        return ImportRecord(spec, "require", required, line, type_only)
    spec = _string_value(source_node)
    if spec is None:
        return None
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        return ImportRecord(spec, "side_effect", (), line, type_only)
    bindings: list[ImportBinding] = []
    for part in clause.named_children:
        if part.type == "identifier":
            bindings.append(ImportBinding(_text(part), "default", type_only))
        elif part.type == "namespace_import":
            alias_node = next((c for c in part.named_children if c.type == "identifier"), None)
            if alias_node is not None:
                bindings.append(ImportBinding(_text(alias_node), "*", type_only))
        elif part.type == "named_imports":
            for spec_node in part.named_children:
                if spec_node.type != "import_specifier":
                    continue
                imported = _text(spec_node.child_by_field_name("name"))
                alias = spec_node.child_by_field_name("alias")
                local = _text(alias) if alias is not None else imported
                bindings.append(ImportBinding(local, imported, type_only or _has_token(spec_node, "type")))
    return ImportRecord(spec, "import", tuple(bindings), line, type_only)


def _export(
    node: tree_sitter.Node,
    source: bytes,
    imports: list[ImportRecord],
    exports: dict[ExportRecord, None],
    definitions: list[Definition],
    container: str,
) -> None:
    line = node.start_point[0]
    type_only = _has_token(node, "type")
    spec = _string_value(node.child_by_field_name("source"))
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    if spec is not None:
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if namespace is not None:  # export * as ns from "m"
            ns_node = next((c for c in namespace.named_children if c.type in ("identifier", "string")), None)
            alias = _string_value(ns_node) if ns_node is not None and ns_node.type == "string" else _text(ns_node)
            imports.append(
                ImportRecord(spec, "reexport", (ImportBinding(alias or "", "*", type_only),), line, type_only)
            )
        elif clause is not None:  # export { a, b as c } from "m"
            bindings = tuple(
                ImportBinding(*_specifier_names(s), type_only or _has_token(s, "type"))
                for s in clause.named_children
                if s.type == "export_specifier"
            )
            imports.append(ImportRecord(spec, "reexport", bindings, line, type_only))
        else:  # export * from "m"
            imports.append(ImportRecord(spec, "reexport_all", (), line, type_only))
        return
    if clause is not None:  # export { a, b as c }
        for s in clause.named_children:
            if s.type == "export_specifier":
                exported, local = _specifier_names(s)
                exports[ExportRecord(exported, local)] = None
        return
    declaration = node.child_by_field_name("declaration")
    is_default = _has_token(node, "default")
    if declaration is not None:
        names = _declaration(declaration, node, source, definitions, container, exported=True)
        for name in dict.fromkeys(names):
            exports[ExportRecord("default" if is_default else name, name)] = None
        return
    value = node.child_by_field_name("value")
    if value is not None and is_default:
        if value.type == "identifier":
            exports[ExportRecord("default", _text(value))] = None
            return
        names = _declaration(value, node, source, definitions, container, exported=True, default=True)
        exports[ExportRecord("default", names[0] if names else "default")] = None


def _specifier_names(spec: tree_sitter.Node) -> tuple[str, str]:
    """(exported name, local name) of an export specifier."""
    name_node = spec.child_by_field_name("name")
    alias_node = spec.child_by_field_name("alias")
    name = _string_value(name_node) if name_node is not None and name_node.type == "string" else _text(name_node)
    name = name or ""
    if alias_node is None:
        return name, name
    alias = _string_value(alias_node) if alias_node.type == "string" else _text(alias_node)
    return alias or name, name


_FUNCTIONS = ("function_declaration", "generator_function_declaration", "function_signature")
_CLASSES = ("class_declaration", "abstract_class_declaration", "class")
_FUNCTION_VALUES = ("arrow_function", "function_expression", "function", "generator_function")


def _declaration(
    node: tree_sitter.Node,
    outer: tree_sitter.Node,
    source: bytes,
    definitions: list[Definition],
    container: str,
    exported: bool,
    default: bool = False,
) -> list[str]:
    """Record the definitions of one declaration; returns the names it binds."""
    kind = node.type
    if kind in _FUNCTIONS or (default and kind in _FUNCTION_VALUES):
        name = _text(node.child_by_field_name("name")) or "default"
        body = node.child_by_field_name("body")
        sig = _head(source, outer, body) + (" " + ELIDED if body is not None else "")
        definitions.append(_definition(name, "function", outer, node, source, container, exported, sig))
        return [name]
    if kind in _CLASSES:
        name = _text(node.child_by_field_name("name")) or "default"
        body = node.child_by_field_name("body")
        members: list[Definition] = []
        rendered = _class_members(body, source, name, members, exported) if body is not None else []
        head = _head(source, outer, body)
        sig = head + " {\n" + "".join(f"  {m}\n" for m in rendered) + "}" if body is not None else head
        definitions.append(_definition(name, "class", outer, node, source, container, exported, sig))
        definitions.extend(members)
        return [name]
    if kind in ("interface_declaration", "type_alias_declaration", "enum_declaration"):
        name = _text(node.child_by_field_name("name"))
        def_kind: DefKind = {"interface_declaration": "interface", "type_alias_declaration": "type"}.get(kind, "enum")  # type: ignore[assignment]
        sig = _slice(source, outer.start_byte, node.end_byte)
        definitions.append(_definition(name, def_kind, outer, node, source, container, exported, sig))
        return [name]
    if kind in ("lexical_declaration", "variable_declaration"):
        return _variables(node, outer, source, definitions, container, exported)
    if kind in ("internal_module", "module"):
        name_node = node.child_by_field_name("name")
        name = (_string_value(name_node) if name_node is not None and name_node.type == "string" else None) or _text(
            name_node
        )
        body = node.child_by_field_name("body")
        sig = _head(source, outer, body) + (" " + ELIDED if body is not None else "")
        definitions.append(_definition(name or "", "namespace", outer, node, source, container, exported, sig))
        return [name] if name else []
    if default:  # export default <expression>
        text = _slice(source, outer.start_byte, node.end_byte)
        sig = text if len(text) <= 120 and "\n" not in text else _first_line(text) + " …"
        definitions.append(_definition("default", "const", outer, node, source, container, exported, sig))
        return ["default"]
    return []


def _variables(
    node: tree_sitter.Node,
    outer: tree_sitter.Node,
    source: bytes,
    definitions: list[Definition],
    container: str,
    exported: bool,
) -> list[str]:
    keyword = _text(node.child_by_field_name("kind")) or ("var" if node.type == "variable_declaration" else "const")
    prefix = "export " if exported and outer is not node else ""
    declare = "declare " if outer.parent is not None and outer.parent.type == "ambient_declaration" else ""
    names: list[str] = []
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    for declarator in declarators:
        name_node = declarator.child_by_field_name("name")
        if name_node is None or name_node.type != "identifier":
            continue  # destructuring: nothing a caller can look up by name
        name = _text(name_node)
        value = declarator.child_by_field_name("value")
        head = (
            declare
            + prefix
            + keyword
            + " "
            + _slice(
                source, declarator.start_byte, value.start_byte if value is not None else declarator.end_byte
            ).rstrip()
        )
        if value is None:
            sig = head
        elif value.type in _FUNCTION_VALUES:
            sig = head + " " + _function_value(value, source)
        else:
            sig = head + " " + _short_value(_slice(source, value.start_byte, value.end_byte))
        kind: DefKind = "const" if keyword == "const" else "variable"
        if value is not None and value.type in _FUNCTION_VALUES:
            kind = "function"
        span = outer if len(declarators) == 1 else declarator
        definitions.append(_definition(name, kind, span, declarator, source, container, exported, sig))
        names.append(name)
    return names


def _function_value(value: tree_sitter.Node, source: bytes) -> str:
    body = value.child_by_field_name("body")
    if body is None:
        return _slice(source, value.start_byte, value.end_byte)
    head = _slice(source, value.start_byte, body.start_byte).rstrip()
    return head + " " + (ELIDED if body.type == "statement_block" else "…")


def _short_value(text: str) -> str:
    text = text.strip()
    if len(text) <= 100 and "\n" not in text:
        return text
    return _first_line(text)[:100].rstrip() + " …"


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip()


def _class_members(
    body: tree_sitter.Node, source: bytes, class_name: str, definitions: list[Definition], exported: bool
) -> list[str]:
    rendered: list[str] = []
    for member in body.named_children:
        kind = member.type
        name_node = member.child_by_field_name("name")
        name = _text(name_node)
        if kind in ("method_definition", "method_signature", "abstract_method_signature"):
            member_body = member.child_by_field_name("body")
            sig = _head(source, member, member_body) + (" " + ELIDED if member_body is not None else "")
            definitions.append(_definition(name, "method", member, member, source, class_name, exported, sig))
        elif kind in ("public_field_definition", "property_signature"):
            value = member.child_by_field_name("value")
            if value is None:
                sig = _slice(source, member.start_byte, member.end_byte).rstrip(";")
            elif value.type in _FUNCTION_VALUES:
                sig = (
                    _slice(source, member.start_byte, value.start_byte).rstrip() + " " + _function_value(value, source)
                )
            else:
                sig = (
                    _slice(source, member.start_byte, value.start_byte).rstrip()
                    + " "
                    + _short_value(_slice(source, value.start_byte, value.end_byte))
                )
            definitions.append(_definition(name, "property", member, member, source, class_name, exported, sig))
        elif kind == "index_signature":
            sig = _slice(source, member.start_byte, member.end_byte)
        else:
            continue
        rendered.append(" ".join(line.strip() for line in sig.splitlines()) if len(sig) < 160 else sig)
    return rendered


def _head(source: bytes, outer: tree_sitter.Node, body: tree_sitter.Node | None) -> str:
    end = body.start_byte if body is not None else outer.end_byte
    return _slice(source, outer.start_byte, end).rstrip()


def _slice(source: bytes, start: int, end: int) -> str:
    return source[start:end].decode("utf-8", errors="replace")


def _definition(
    name: str,
    kind: DefKind,
    span: tree_sitter.Node,
    node: tree_sitter.Node,
    source: bytes,
    container: str,
    exported: bool,
    signature: str,
) -> Definition:
    name_node = node.child_by_field_name("name")
    name_line = name_node.start_point[0] if name_node is not None else span.start_point[0]
    start = span.start_point[0]
    end_point = span.end_point
    end = end_point[0] - 1 if end_point[1] == 0 and end_point[0] > start else end_point[0]
    refs = tuple(sorted({m for m in _IDENT.findall(signature) if m not in KEYWORDS and m != name}))
    return Definition(name, kind, start, end, name_line, _doc_start(span), container, exported, signature, refs)


def _doc_start(node: tree_sitter.Node) -> int | None:
    """First line of the comment block directly above ``node`` (no blank line between)."""
    first: int | None = None
    expected = node.start_point[0]
    sibling = node.prev_sibling
    while sibling is not None and sibling.type == "comment" and sibling.end_point[0] >= expected - 1:
        first = sibling.start_point[0]
        expected = first
        sibling = sibling.prev_sibling
    return first


def _calls(grammar: GrammarName, root: tree_sitter.Node) -> list[ImportRecord]:
    """Dynamic ``import("x")`` and ``require("x")`` anywhere in the file."""
    records: list[ImportRecord] = []
    cursor = tree_sitter.QueryCursor(_query(grammar, _CALL_QUERY))
    for _, captures in cursor.matches(root):
        if "dynamic" in captures:
            node = captures["dynamic"][0]
            kind: ImportKind = "dynamic"
        elif "require" in captures and _text(captures["fn"][0]) == "require":
            node = captures["require"][0]
            kind = "require"
        else:
            continue
        arguments = node.parent.parent if node.parent is not None else None
        call = arguments.parent if arguments is not None else None
        records.append(ImportRecord(_text(node), kind, _call_bindings(call), node.start_point[0]))
    return records


def _call_bindings(call: tree_sitter.Node | None) -> tuple[ImportBinding, ...]:
    """Names bound by ``const x = require("m")`` / ``const {a, b: c} = await import("m")``."""
    parent = call.parent if call is not None else None
    if parent is not None and parent.type == "await_expression":
        parent = parent.parent
    if parent is None or parent.type != "variable_declarator":
        return ()
    pattern = parent.child_by_field_name("name")
    if pattern is None:
        return ()
    if pattern.type == "identifier":
        return (ImportBinding(_text(pattern), "*"),)
    bindings: list[ImportBinding] = []
    if pattern.type == "object_pattern":
        for part in pattern.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                bindings.append(ImportBinding(_text(part), _text(part)))
            elif part.type == "pair_pattern":
                key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
                if key is not None and value is not None and value.type == "identifier":
                    bindings.append(ImportBinding(_text(value), _text(key)))
    return tuple(bindings)


def _references(grammar: GrammarName, root: tree_sitter.Node) -> tuple[dict[str, int], int]:
    captures = tree_sitter.QueryCursor(_query(grammar, _REF_QUERY)).captures(root)
    counts: Counter[bytes] = Counter()
    for name in ("ref", "member"):
        counts.update(node.text for node in captures.get(name, ()) if node.text is not None)
    errors = _count_errors(root) if root.has_error else 0
    return {key.decode("utf-8", errors="replace"): value for key, value in counts.items()}, errors


def _count_errors(root: tree_sitter.Node) -> int:
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
            continue
        if node.has_error:
            stack.extend(node.children)
    return count


_COMMENT_OR_STRING = re.compile(
    r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|(/\*[\s\S]*?\*/|//[^\n]*)"""
)


def strip_comments(text: str) -> str:
    """Drop comments (JSDoc included) but keep strings; lines that held only a comment disappear."""
    if "/" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        return match.group(1) or "\n" * match.group(2).count("\n")

    stripped = _COMMENT_OR_STRING.sub(replace, text)
    if stripped == text:
        return text
    kept = [
        line.rstrip()
        for line, before in zip(stripped.split("\n"), text.split("\n"), strict=True)
        if line.strip() or not before.strip()
    ]
    return "\n".join(kept)
