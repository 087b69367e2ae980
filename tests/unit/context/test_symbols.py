"""Extraction of imports, exports, definitions and references from real tree-sitter trees."""

from __future__ import annotations

from ai_coding_router.context.languages import grammar_for, parse
from ai_coding_router.context.symbols import FileSymbols, ImportBinding, extract, strip_comments


def symbols_of(text: str, path: str = "x.ts") -> FileSymbols:
    source = text.encode()
    grammar = grammar_for(path)
    assert grammar is not None
    return extract(parse(source, grammar), source)


def imports_by_spec(symbols: FileSymbols) -> dict[str, tuple[str, tuple[ImportBinding, ...], bool]]:
    return {r.specifier: (r.kind, r.bindings, r.type_only) for r in symbols.imports}


def test_every_import_form() -> None:
    symbols = symbols_of(
        'import def, { a, b as c, type T } from "./named";\n'
        'import * as ns from "./ns";\n'
        'import "./side";\n'
        'import type { Only } from "./types";\n'
        'export { e, f as g } from "./reexport";\n'
        'export * from "./all";\n'
        'export * as nsx from "./nsx";\n'
        'export type { Q } from "./qtypes";\n'
        'import old = require("./old");\n'
        'const { r1, r2: renamed } = require("./req");\n'
        'const whole = require("./whole");\n'
        'async function f() { const m = await import("./dyn"); return import("./dyn2"); }\n'
    )
    found = imports_by_spec(symbols)
    assert found["./named"] == (
        "import",
        (
            ImportBinding("def", "default"),
            ImportBinding("a", "a"),
            ImportBinding("c", "b"),
            ImportBinding("T", "T", type_only=True),
        ),
        False,
    )
    assert found["./ns"] == ("import", (ImportBinding("ns", "*"),), False)
    assert found["./side"] == ("side_effect", (), False)
    assert found["./types"] == ("import", (ImportBinding("Only", "Only", type_only=True),), True)
    assert found["./reexport"] == ("reexport", (ImportBinding("e", "e"), ImportBinding("g", "f")), False)
    assert found["./all"] == ("reexport_all", (), False)
    assert found["./nsx"] == ("reexport", (ImportBinding("nsx", "*"),), False)
    assert found["./qtypes"] == ("reexport", (ImportBinding("Q", "Q", type_only=True),), True)
    assert found["./old"] == ("require", (ImportBinding("old", "*"),), False)
    assert found["./req"] == ("require", (ImportBinding("r1", "r1"), ImportBinding("renamed", "r2")), False)
    assert found["./whole"] == ("require", (ImportBinding("whole", "*"),), False)
    assert found["./dyn"] == ("dynamic", (ImportBinding("m", "*"),), False)
    assert found["./dyn2"][0] == "dynamic"
    assert [r.line for r in symbols.imports] == sorted(r.line for r in symbols.imports)


def test_dynamic_import_with_a_non_literal_is_not_an_import() -> None:
    symbols = symbols_of("const name = './x';\nimport(name);\nrequire(`./tpl${name}`);\n")
    assert symbols.imports == ()


def test_exports_and_definitions_with_lines() -> None:
    text = (
        "/** Doc of Foo. */\n"  # 0
        "export class Foo<T> extends Base implements Iface {\n"  # 1
        "  count: number = 0;\n"  # 2
        "  constructor(private readonly dep: Dep) { super(); }\n"  # 3
        "  run(input: Input): Output {\n"  # 4
        "    return compute(input);\n"  # 5
        "  }\n"  # 6
        "}\n"  # 7
        "export interface Iface { a: string }\n"  # 8
        "export type Alias = string | number;\n"  # 9
        "export enum Color { Red, Green }\n"  # 10
        "export const LIMIT = 10, other: string = 'x';\n"  # 11
        "export const arrow = (x: Input): Output => { return x as Output; };\n"  # 12
        "function local(): void {}\n"  # 13
        "export { local as renamedLocal };\n"  # 14
        "export default Foo;\n"  # 15
    )
    symbols = symbols_of(text)
    defs = {d.qualified: d for d in symbols.definitions}
    assert defs["Foo"].kind == "class"
    assert (defs["Foo"].start_line, defs["Foo"].end_line, defs["Foo"].name_line) == (1, 7, 1)
    assert defs["Foo"].doc_start_line == 0
    assert defs["Foo.run"].kind == "method" and defs["Foo.run"].start_line == 4
    assert defs["Foo.count"].kind == "property"
    assert defs["Iface"].kind == "interface" and defs["Alias"].kind == "type" and defs["Color"].kind == "enum"
    assert defs["LIMIT"].kind == "const" and defs["other"].kind == "const"
    assert defs["arrow"].kind == "function"
    assert defs["local"].exported is False
    exported = {(e.exported, e.local) for e in symbols.exports}
    assert {("Foo", "Foo"), ("renamedLocal", "local"), ("default", "Foo"), ("LIMIT", "LIMIT")} <= exported
    # Signatures keep the declaration and elide bodies.
    assert "compute(input)" not in defs["Foo"].signature
    assert "run(input: Input): Output { … }" in defs["Foo"].signature
    assert "constructor(private readonly dep: Dep)" in defs["Foo"].signature
    assert defs["arrow"].signature == "export const arrow = (x: Input): Output => { … }"
    assert {"Base", "Iface", "Dep", "Input", "Output"} <= set(defs["Foo"].refs)


def test_default_exports_of_anonymous_and_expression_values() -> None:
    symbols = symbols_of("export default function () { return 1; }\n")
    assert [(d.name, d.kind) for d in symbols.definitions] == [("default", "function")]
    assert ("default", "default") in {(e.exported, e.local) for e in symbols.exports}
    symbols = symbols_of("export default defineConfig({ a: 1 });\n")
    assert [d.name for d in symbols.definitions] == ["default"]


def test_references_count_identifiers_types_and_members() -> None:
    symbols = symbols_of("const a = b.c + b.c;\nlet t: Thing = a;\n")
    assert symbols.references["b"] == 2
    assert symbols.references["c"] == 2
    assert symbols.references["Thing"] == 1


def test_tsx_and_javascript_grammars() -> None:
    tsx = symbols_of('import React from "react";\nexport const App = () => <div>{React.version}</div>;\n', "a.tsx")
    assert [d.name for d in tsx.definitions] == ["App"] and tsx.syntax_errors == 0
    js = symbols_of('const x = require("./x");\nmodule.exports = function f() {};\n', "a.cjs")
    assert js.imports[0].specifier == "./x"
    # A TypeScript cast that only the non-TSX grammar accepts.
    ts = symbols_of("const n = <number>value;\n", "a.mts")
    assert ts.syntax_errors == 0


def test_syntax_errors_are_counted_and_the_rest_is_still_extracted() -> None:
    symbols = symbols_of('import { a } from "./a";\nexport function broken(x: number {\n}\nexport const ok = 1;\n')
    assert symbols.syntax_errors > 0
    assert symbols.imports[0].specifier == "./a"
    assert "ok" in {d.name for d in symbols.definitions}


def test_json_round_trip() -> None:
    symbols = symbols_of('import a from "./a";\nexport class K { m(): void {} }\nexport { a };\n')
    assert FileSymbols.from_json(symbols.to_json()) == symbols


def test_strip_comments_keeps_strings_and_drops_comment_lines() -> None:
    text = "/** doc */\nconst url = \"http://x//y\"; // trailing\n/* block\n spans */\nconst b = '/* not */';\n"
    assert strip_comments(text) == "const url = \"http://x//y\";\nconst b = '/* not */';\n"


def test_exports_keep_source_order_and_overloads_export_once() -> None:
    text = (
        "export function f(a: string): void;\n"
        "export function f(a: number): void;\n"
        "export function f(a: unknown): void {}\n"
        "export const b = 1;\n"
        "const c = 2;\n"
        "export { c, c as d };\n"
        "export default b;\n"
    )
    exports = [(e.exported, e.local) for e in symbols_of(text).exports]
    assert exports == [("f", "f"), ("b", "b"), ("c", "c"), ("d", "c"), ("default", "b")]


def test_thousands_of_exports_are_all_kept_once() -> None:
    # Generated API clients export thousands of functions; deduplicating them must not compare each with all.
    text = "".join(f"export function op{i}(x: number): number {{ return x + {i}; }}\n" for i in range(3000))
    exports = symbols_of(text).exports
    assert [e.exported for e in exports] == [f"op{i}" for i in range(3000)]
