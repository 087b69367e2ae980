"""Module resolution: relative probing, tsconfig paths with extends, package exports, re-export chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_coding_router.context.index import WorkspaceIndex
from ai_coding_router.context.resolve import (
    PackageInfo,
    ProjectConfig,
    Resolver,
    load_tsconfig,
    parse_jsonc,
)


def test_jsonc_comments_and_trailing_commas() -> None:
    text = '{\n // c\n "a": "http://x//y", /* b */ "list": [1, 2,],\n "o": {"k": 1,},\n}\n'
    assert parse_jsonc(text) == {"a": "http://x//y", "list": [1, 2], "o": {"k": 1}}
    assert parse_jsonc('\ufeff{"s": "a,}"}') == {"s": "a,}"}


def test_tsconfig_extends_chain_with_baseurl_and_paths(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.json").write_text(
        '{ "compilerOptions": { "baseUrl": "..", "paths": { "~/*": ["src/*"], }, }, }'
    )
    (tmp_path / "configs" / "middle.json").write_text('{ "extends": "./base", // no .json suffix\n }')
    (tmp_path / "tsconfig.json").write_text('{ "extends": ["./configs/middle.json"], "compilerOptions": {} }')
    config = load_tsconfig(tmp_path, tmp_path / "tsconfig.json")
    assert config.base_url == ""  # the workspace root, relative to configs/base.json
    assert config.paths == (("~/*", ("src/*",)),)
    resolver = Resolver(["src/util/a.ts", "src/main.ts"], ProjectConfig({"": config}))
    assert resolver.resolve("src/main.ts", "~/util/a") == "src/util/a.ts"
    assert resolver.resolve("src/main.ts", "src/util/a") == "src/util/a.ts"  # via baseUrl


def test_tsconfig_extends_a_package_in_node_modules_and_cycles(tmp_path: Path) -> None:
    shared = tmp_path / "node_modules" / "@acme" / "tsconfig"
    shared.mkdir(parents=True)
    (shared / "tsconfig.json").write_text('{"compilerOptions": {"paths": {"#lib": ["./lib/index.ts"]}}}')
    (tmp_path / "tsconfig.json").write_text('{"extends": "@acme/tsconfig", "compilerOptions": {"baseUrl": "."}}')
    config = load_tsconfig(tmp_path, tmp_path / "tsconfig.json")
    assert config.paths == (("#lib", ("./lib/index.ts",)),)
    assert config.paths_base == ""  # baseUrl wins over the directory of the file that set paths
    (tmp_path / "a.json").write_text('{"extends": "./b.json"}')
    (tmp_path / "b.json").write_text('{"extends": "./a.json"}')
    warnings: list[str] = []
    load_tsconfig(tmp_path, tmp_path / "a.json", warnings)
    assert any("circular" in w for w in warnings)


def test_relative_probing() -> None:
    files = ["src/a.ts", "src/b.tsx", "src/dir/index.ts", "src/esm.ts", "src/c.d.ts", "src/plain.js", "src/m.mts"]
    resolver = Resolver(files)
    assert resolver.resolve("src/x.ts", "./a") == "src/a.ts"
    assert resolver.resolve("src/x.ts", "./b") == "src/b.tsx"
    assert resolver.resolve("src/x.ts", "./dir") == "src/dir/index.ts"
    assert resolver.resolve("src/x.ts", "./esm.js") == "src/esm.ts"  # NodeNext style
    assert resolver.resolve("src/x.ts", "./m.mjs") == "src/m.mts"
    assert resolver.resolve("src/x.ts", "./c") == "src/c.d.ts"
    assert resolver.resolve("src/x.ts", "./plain.js") == "src/plain.js"
    assert resolver.resolve("src/dir/index.ts", "../a") == "src/a.ts"
    assert resolver.resolve("src/x.ts", "./missing") is None
    assert resolver.resolve("src/x.ts", "react") is None


def test_package_exports_conditions_subpaths_patterns_and_dist_to_src() -> None:
    manifest = {
        "name": "@acme/kit",
        "exports": {
            ".": {"types": "./dist/index.d.ts", "import": "./dist/esm/index.js"},
            "./feature/*": {"import": "./dist/feature/*.js"},
            "./raw": "./src/raw.ts",
        },
    }
    project = ProjectConfig(packages={"@acme/kit": PackageInfo("@acme/kit", "packages/kit", manifest)})
    files = ["packages/kit/src/index.ts", "packages/kit/src/feature/x.ts", "packages/kit/src/raw.ts", "app/a.ts"]
    resolver = Resolver(files, project)
    assert resolver.resolve("app/a.ts", "@acme/kit") == "packages/kit/src/index.ts"
    assert resolver.resolve("app/a.ts", "@acme/kit/feature/x") == "packages/kit/src/feature/x.ts"
    assert resolver.resolve("app/a.ts", "@acme/kit/raw") == "packages/kit/src/raw.ts"
    assert resolver.resolve("app/a.ts", "@acme/kit/nope") is None


def test_package_main_types_and_source_fields() -> None:
    project = ProjectConfig(
        packages={
            "old": PackageInfo("old", "libs/old", {"name": "old", "main": "lib/index.js", "types": "lib/index.d.ts"}),
            "src-first": PackageInfo("src-first", "libs/s", {"name": "src-first", "source": "src/main.ts"}),
        }
    )
    resolver = Resolver(["libs/old/src/index.ts", "libs/s/src/main.ts"], project)
    assert resolver.resolve("x.ts", "old") == "libs/old/src/index.ts"
    assert resolver.resolve("x.ts", "src-first") == "libs/s/src/main.ts"


def test_fixture_workspace_resolution(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    main = "src/app/main.ts"
    targets = {r.specifier: snap.target_of(main, i) for i, r in enumerate(snap.files[main].imports)}
    assert targets == {
        "../lib/math": "src/lib/math.ts",
        "../lib/shapes": "src/lib/shapes.ts",
        "../lib/polyfill": "src/lib/polyfill.ts",
        "@lib/math": "src/lib/math.ts",  # tsconfig paths, from the extended config
        "@lib/index": "src/lib/index.ts",
        "@acme/ui": "packages/ui/src/index.ts",  # package exports → dist → src
        "@acme/ui/icons": "packages/ui/src/icons/index.ts",
        "legacy-lib": "packages/legacy/src/index.ts",  # main/types → src
        "left-pad": None,  # node_modules is never indexed
        "../lib/format": "src/lib/format.ts",  # not the compiled format.js beside it
        "./helpers": "src/app/helpers.ts",  # require()
        "./lazy": "src/app/lazy.ts",  # import()
    }


def test_reexport_chains_to_the_definition(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    [add] = snap.find_export("src/lib/index.ts", "add")  # export * from "./math"
    assert (add.path, add.definition.name, add.definition.kind) == ("src/lib/math.ts", "add", "function")
    [fmt] = snap.find_export("src/lib/index.ts", "formatNumber")  # export { format as formatNumber }
    assert (fmt.path, fmt.definition.name) == ("src/lib/format.ts", "format")
    [default] = snap.find_export("src/lib/math.ts", "default")
    assert default.definition.name == "multiply"
    [start] = snap.find_export("src/app/index.ts", "start")
    assert start.path == "src/app/main.ts"
    [pi] = snap.find_export("src/app/main.ts", "PI")
    assert pi.path == "src/lib/math.ts"


def test_reexport_cycles_terminate(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    [from_b] = snap.find_export("src/cycle/a.ts", "fromB")  # a → export * from b
    assert from_b.path == "src/cycle/b.ts"
    [via_a] = snap.find_export("src/cycle/a.ts", "viaA")  # a → b → import from a → definition in a
    assert (via_a.path, via_a.definition.name) == ("src/cycle/a.ts", "fromA")
    [again] = snap.find_export("src/cycle/b.ts", "againB")  # b → export * from a → alias of b's own
    assert again.path == "src/cycle/b.ts"
    assert snap.find_export("src/cycle/a.ts", "missing") == []  # a ↔ b export * cycle, not found


@pytest.mark.parametrize("spec", ["", "/abs/path", "./"])
def test_odd_specifiers_do_not_crash(spec: str) -> None:
    assert Resolver(["a.ts"]).resolve("a.ts", spec) in (None, "a.ts")
