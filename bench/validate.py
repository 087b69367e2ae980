"""Benchmark the validation gates against the tools run cold, on a generated 200-file TypeScript project.

    .venv/bin/python bench/validate.py [--repeats 10] [--npx] [--keep]

1. Generates a project: 20 features x 10 modules (200 source files, each importing the previous one of
   its feature) and 40 vitest files; ``node_modules`` links to the pinned toolchain with ``typescript``
   pointing at TypeScript 7, as in a project that installed it.
2. A one-file candidate edit that adds a type error, a lint error and a failing test is validated with
   the full check set (syntax, typescript_compile, eslint_strict, vitest_run; trusted), warm (the
   baselines of the unedited project cached by the first run), ``--repeats`` times: p50/p99.
3. The same edit applied to a copy, then cold ``tsc --noEmit -p .``, ``eslint .`` and ``vitest run`` one
   after the other (direct ``node`` calls, no npx start-up, unless ``--npx``): the time and the findings,
   parsed with the same parsers. Prints both, the ratio, and whether the findings match.
4. The syntax gate on a 5,000-line file: a one-line edit re-checked with the original's tree cached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from ai_coding_router.config import ValidationConfig  # noqa: E402
from ai_coding_router.validation.base import Candidate, Finding  # noqa: E402
from ai_coding_router.validation.eslint import parse_eslint_json  # noqa: E402
from ai_coding_router.validation.runner import ValidationSession, validate  # noqa: E402
from ai_coding_router.validation.syntax import SyntaxChecker  # noqa: E402
from ai_coding_router.validation.tools import run_tool, toolchain_dir  # noqa: E402
from ai_coding_router.validation.tsc import parse_tsc_output  # noqa: E402
from ai_coding_router.validation.vitest import parse_vitest_json  # noqa: E402

FEATURES, MODULES, TESTED = 20, 10, (4, 9)
EDITED = "src/f7/m5.ts"


def module_text(f: int, k: int) -> str:
    imports = f'import {{ total{k - 1}, type Record{k - 1} }} from "./m{k - 1}";\n\n' if k else ""
    base = f"total{k - 1}(x) + {k}" if k else "x"
    parent = f"  readonly parent: Record{k - 1} | null;\n" if k else ""
    parent_init = "    parent: null,\n" if k else ""
    return f"""{imports}export interface Record{k} {{
  readonly id: string;
  readonly weight: number;
  readonly labels: readonly string[];
{parent}}}

export function total{k}(x: number): number {{
  return {base};
}}

export function makeRecord{k}(id: string, weight: number): Record{k} {{
  return {{
    id,
    weight: Math.max(0, weight),
    labels: [id.toUpperCase(), "f{f}"],
{parent_init}  }};
}}

export class Registry{k} {{
  private readonly items = new Map<string, Record{k}>();

  add(record: Record{k}): void {{
    this.items.set(record.id, record);
  }}

  heaviest(): Record{k} | undefined {{
    let best: Record{k} | undefined;
    for (const item of this.items.values()) {{
      if (best === undefined || item.weight > best.weight) {{
        best = item;
      }}
    }}
    return best;
  }}

  get size(): number {{
    return this.items.size;
  }}
}}
"""


def test_text(f: int, k: int) -> str:
    return f"""import {{ describe, expect, it }} from "vitest";
import {{ Registry{k}, makeRecord{k}, total{k} }} from "./m{k}";

describe("f{f}/m{k}", () => {{
  it("adds up the chain", () => {{
    expect(total{k}(1)).toBe({sum(range(k + 1)) + 1});
  }});

  it("finds the heaviest record", () => {{
    const registry = new Registry{k}();
    registry.add(makeRecord{k}("a", 1));
    registry.add(makeRecord{k}("b", 3));
    expect(registry.heaviest()?.id).toBe("b");
    expect(registry.size).toBe(2);
  }});

  it("clamps negative weights", () => {{
    expect(makeRecord{k}("c", -4).weight).toBe(0);
  }});
}});
"""


def link_toolchain_modules(project: Path, toolchain_modules: Path) -> None:
    """node_modules as a project that installed TypeScript 7 would have it (typescript = TS 7)."""
    modules = project / "node_modules"
    modules.mkdir()
    for entry in toolchain_modules.iterdir():
        if entry.name in (".vite", ".vitest", ".bin", "typescript", "typescript7"):
            continue
        (modules / entry.name).symlink_to(entry)
    (modules / "typescript").symlink_to(toolchain_modules / "typescript7")
    bins = modules / ".bin"
    bins.mkdir()
    for entry in (toolchain_modules / ".bin").iterdir():
        if entry.name not in ("tsc", "tsserver"):
            (bins / entry.name).symlink_to(entry.resolve())
    (bins / "tsc").symlink_to(toolchain_modules / "typescript7" / "bin" / "tsc")


def generate_project(root: Path, toolchain_modules: Path) -> None:
    root.mkdir(parents=True)
    package = {"name": "bench", "private": True, "type": "module", "devDependencies": {"vitest": "4.1.12"}}
    (root / "package.json").write_text(json.dumps(package, indent=2))
    options = {"target": "es2022", "module": "esnext", "moduleResolution": "bundler", "strict": True,
               "noEmit": True, "skipLibCheck": True, "types": []}
    (root / "tsconfig.json").write_text(json.dumps({"compilerOptions": options, "include": ["src"]}, indent=2))
    for f in range(FEATURES):
        folder = root / "src" / f"f{f}"
        folder.mkdir(parents=True)
        for k in range(MODULES):
            (folder / f"m{k}.ts").write_text(module_text(f, k))
        for k in TESTED:
            (folder / f"m{k}.test.ts").write_text(test_text(f, k))
    link_toolchain_modules(root, toolchain_modules)


def failing_edit(text: str) -> str:
    """A type error, a lint error (var) and a logic change that fails f7/m9's chain test."""
    text = text.replace("return total4(x) + 5;", "return total4(x) + 6;")
    return text.replace(
        "export class Registry5 {",
        'var registryName = "five";\nexport const registryLabel: number = registryName;\n\nexport class Registry5 {',
    )


def clean_edit(text: str) -> str:
    return text.replace("return total4(x) + 5;", "const step = 5;\n  return total4(x) + step;")


def key(f: Finding) -> tuple[str, int, str, str]:
    return (f.path, f.range.start.line, f.code, f.kind)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def cold_tools(project: Path, strict_config: Path, npx: bool) -> tuple[float, list[Finding], dict[str, float]]:
    out = project.parent / "cold-vitest.json"
    eslint_out = project.parent / "cold-eslint.json"
    node = shutil.which("node") or "node"
    if npx:
        npx_bin = shutil.which("npx") or "npx"
        commands = {
            "tsc": [npx_bin, "--no-install", "tsc", "--noEmit", "-p", ".", "--pretty", "false"],
            "eslint": [npx_bin, "--no-install", "eslint", "-c", str(strict_config), "--format", "json", "-o",
                       str(eslint_out), "."],
            "vitest": [npx_bin, "--no-install", "vitest", "run", "--reporter=json", f"--outputFile={out}"],
        }
    else:
        modules = project / "node_modules"
        commands = {
            "tsc": [node, str(modules / "typescript/bin/tsc"), "--noEmit", "-p", ".", "--pretty", "false"],
            "eslint": [node, str(modules / "eslint/bin/eslint.js"), "-c", str(strict_config), "--format", "json",
                       "-o", str(eslint_out), "."],
            "vitest": [node, str(modules / "vitest/vitest.mjs"), "run", "--reporter=json", f"--outputFile={out}"],
        }
    times: dict[str, float] = {}
    started = time.perf_counter()
    tsc = await run_tool(commands["tsc"], cwd=project, timeout_s=600)
    times["tsc"] = tsc.duration_ms
    eslint = await run_tool(commands["eslint"], cwd=project, timeout_s=600)
    times["eslint"] = eslint.duration_ms
    vitest = await run_tool(commands["vitest"], cwd=project, timeout_s=600)
    times["vitest"] = vitest.duration_ms
    total = (time.perf_counter() - started) * 1000
    findings = parse_tsc_output(tsc.stdout, project)
    findings += [f for f in parse_eslint_json(eslint_out.read_text(), project) if f.severity == "error"]
    findings += parse_vitest_json(out.read_text(), project)[0]
    return total, findings, times


async def bench_checks(repeats: int, npx: bool, keep: bool) -> None:
    toolchain = toolchain_dir()
    if toolchain is None:
        raise SystemExit("the toolchain is not installed: npm ci --prefix toolchain")
    work = Path(tempfile.mkdtemp(prefix="acr-bench-"))
    try:
        project = work / "project"
        generate_project(project, toolchain / "node_modules")
        original = (project / EDITED).read_text()
        sources = sum(1 for p in (project / "src").rglob("*.ts") if not p.name.endswith(".test.ts"))
        tests = sum(1 for _ in (project / "src").rglob("*.test.ts"))
        print(f"project: {sources} source files + {tests} test files, edit: {EDITED}")

        config = ValidationConfig(allow_running_tests=True, tool_timeout_s=120)
        session = ValidationSession()
        candidate = Candidate(project, {EDITED: failing_edit(original)})
        first = time.perf_counter()
        report = await validate(candidate, trusted=True, config=config, session=session)
        first_ms = (time.perf_counter() - first) * 1000
        warm: list[float] = []
        for _ in range(repeats):
            t = time.perf_counter()
            report = await validate(candidate, trusted=True, config=config, session=session)
            warm.append((time.perf_counter() - t) * 1000)
        clean = Candidate(project, {EDITED: clean_edit(original)})
        clean_times: list[float] = []
        for _ in range(repeats):
            t = time.perf_counter()
            clean_report = await validate(clean, trusted=True, config=config, session=session)
            clean_times.append((time.perf_counter() - t) * 1000)

        edited = work / "edited"
        shutil.copytree(project, edited, symlinks=True)
        (edited / EDITED).write_text(failing_edit(original))
        cold_ms, cold_findings, cold_times = await cold_tools(edited, toolchain / "eslint.config.strict.mjs", npx)

        p50, p99 = statistics.median(warm), percentile(warm, 0.99)
        print(f"validate, failing edit, first run (baselines computed): {first_ms:.0f} ms")
        print(f"validate, failing edit, warm x{repeats}: p50 {p50:.0f} ms, p99 {p99:.0f} ms -> {report.status}: "
              f"{report.reason}")
        for outcome in report.outcomes:
            print(f"    {outcome.check:<20} {outcome.state:<14} {outcome.duration_ms:7.0f} ms  {outcome.tool}")
        print(f"validate, clean edit, warm x{repeats}: p50 {statistics.median(clean_times):.0f} ms, "
              f"p99 {percentile(clean_times, 0.99):.0f} ms -> {clean_report.status}")
        label = "npx " if npx else ""
        print(f"cold {label}tsc + eslint . + vitest run: {cold_ms:.0f} ms "
              f"(tsc {cold_times['tsc']:.0f}, eslint {cold_times['eslint']:.0f}, vitest {cold_times['vitest']:.0f})")
        print(f"speed-up at p50: {cold_ms / p50:.1f}x (target >= 5x); at p99: {cold_ms / p99:.1f}x")
        ours, theirs = sorted(map(key, report.findings)), sorted(map(key, cold_findings))
        print(f"findings match: {ours == theirs} ({len(ours)} from validate, {len(theirs)} from the cold tools)")
        if ours != theirs:
            print("  validate only:", sorted(set(ours) - set(theirs)))
            print("  cold only:    ", sorted(set(theirs) - set(ours)))
        if keep:
            print(f"kept: {work}")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def bench_syntax(repeats: int = 50) -> None:
    block = module_text(3, 5)
    parts: list[str] = []
    n = 0
    while sum(p.count("\n") for p in parts) < 5000:
        parts.append(block.replace("Record5", f"Record5_{n}").replace("Registry5", f"Registry5_{n}")
                     .replace("total5", f"total5_{n}").replace("makeRecord5", f"makeRecord5_{n}"))
        n += 1
    original = "".join(parts)
    lines = original.count("\n")
    middle = original.index("return total4(x) + 5;", len(original) // 2)
    ok_edit = original[:middle] + "return total4(x) + 7;" + original[middle + len("return total4(x) + 5;"):]
    bad_edit = original[:middle] + "return total4(x) + ;" + original[middle + len("return total4(x) + 5;"):]
    checker = SyntaxChecker()
    t = time.perf_counter()
    checker.check_file("big.ts", original, ok_edit)
    cold = (time.perf_counter() - t) * 1000
    for label, edit in (("valid edit", ok_edit), ("edit with a syntax error", bad_edit)):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            found = checker.check_file("big.ts", original, edit)
            times.append((time.perf_counter() - t) * 1000)
        print(f"syntax gate, {lines}-line file, {label}: p50 {statistics.median(times):.2f} ms, "
              f"p99 {percentile(times, 0.99):.2f} ms ({len(found)} finding(s)); target <= 5 ms")
    print(f"syntax gate, first check of that file (original parsed too): {cold:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--npx", action="store_true", help="run the cold tools through npx, as the issue words it")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    bench_syntax()
    asyncio.run(bench_checks(args.repeats, args.npx, args.keep))


if __name__ == "__main__":
    main()
