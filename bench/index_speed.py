"""Index speed, keystroke cost and memory of the context engine on a generated 1,000-file workspace.

Prints:
  * cold index of 1,000 files (no cache), in-process, and the same through the CLI in a fresh process
    (cold, then warm from the cache under .ai-coding-router/index/);
  * a keystroke in a 5,000-line file: the parse cache's incremental re-parse (p50/p99), and the index's
    re-extraction of that file's symbols from the new tree (what an edit costs the index);
  * a prune at the interactive budget (1,024 tokens) on the indexed workspace (p50/p99);
  * memory: peak RSS of the process after indexing, and the Python heap the index holds (tracemalloc).

Run:  .venv/bin/python bench/index_speed.py [--files 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from ai_coding_router.context.index import WorkspaceIndex  # noqa: E402
from ai_coding_router.context.languages import parse  # noqa: E402
from ai_coding_router.context.parse_cache import DocumentTrees  # noqa: E402
from ai_coding_router.context.prune import ContextRequest, prune  # noqa: E402
from ai_coding_router.context.symbols import extract  # noqa: E402

DIRS = 20


def module_text(rng: random.Random, directory: int, number: int, per_dir: int, lines_target: int) -> str:
    """A plausible TypeScript module: imports from siblings and other folders, types, a class, functions."""
    name = f"M{directory}_{number}"
    out: list[str] = []
    for _ in range(rng.randint(2, 6)):
        other_dir, other = rng.randrange(DIRS), rng.randrange(per_dir)
        if (other_dir, other) == (directory, number):
            continue
        spec = f"./m{other}" if other_dir == directory else f"../d{other_dir}/m{other}"
        out.append(f'import {{ make{other_dir}_{other}, type M{other_dir}_{other}Options }} from "{spec}";')
    out.append(f'import * as util{directory} from "../d{directory}/index";')
    out.append("")
    out.append(f"/** Options of {name}. */")
    out.append(f"export interface {name}Options {{")
    out += [f"  field{i}: {rng.choice(['string', 'number', 'boolean', 'string[]'])};" for i in range(6)]
    out.append("}")
    out.append("")
    out.append(f"export type {name}Id = string & {{ readonly brand: '{name}' }};")
    out.append("")
    out.append(f"export class {name}Service {{")
    out.append(f"  constructor(private readonly options: {name}Options) {{}}")
    body_lines = 0
    method = 0
    while len(out) < lines_target - 12:
        out.append(f"  method{method}(input: number, label: string): {name}Id {{")
        for _ in range(rng.randint(4, 12)):
            out.append(f"    const v{body_lines} = input * {rng.randint(1, 99)} + label.length; // step {body_lines}")
            body_lines += 1
        out.append(f"    return `${{label}}:${{v{body_lines - 1}}}` as {name}Id;")
        out.append("  }")
        method += 1
    out.append("}")
    out.append("")
    out.append(f"export function make{directory}_{number}(options: {name}Options): {name}Service {{")
    out.append(f"  return new {name}Service(options);")
    out.append("}")
    out.append("")
    return "\n".join(out)


def generate(root: Path, files: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    per_dir = files // DIRS
    for d in range(DIRS):
        directory = root / "src" / f"d{d}"
        directory.mkdir(parents=True, exist_ok=True)
        barrel = []
        for n in range(per_dir - 1):
            lines = 5000 if (d, n) == (0, 0) else rng.randint(40, 220)
            (directory / f"m{n}.ts").write_text(module_text(rng, d, n, per_dir - 1, lines), encoding="utf-8")
            barrel.append(f'export * from "./m{n}";')
        (directory / "index.ts").write_text("\n".join(barrel) + "\n", encoding="utf-8")
    (root / "tsconfig.json").write_text('{ "compilerOptions": { "baseUrl": "." } }\n', encoding="utf-8")
    (root / ".gitignore").write_text("node_modules/\n", encoding="utf-8")
    return root


TYPED = "const y = 1;"


def type_and_erase(docs: DocumentTrees, uri: str, line: int) -> list[float]:
    """Open a line, type a statement one character at a time, backspace it away: one didChange per key,
    transient syntax errors included. Returns the time of each keystroke's incremental re-parse."""
    times: list[float] = []
    docs.apply_change(uri, line, 0, line, 0, "    \n")
    for column, ch in enumerate(TYPED, start=4):
        started = time.perf_counter()
        docs.apply_change(uri, line, column, line, column, ch)
        times.append(time.perf_counter() - started)
    for column in range(4 + len(TYPED), 4, -1):
        started = time.perf_counter()
        docs.apply_change(uri, line, column - 1, line, column, "")
        times.append(time.perf_counter() - started)
    docs.apply_change(uri, line, 0, line + 1, 0, "")
    return times


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def cli_seconds(root: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ai_coding_router.commands.context_cmd",
            "context",
            "src/d3/m4.ts",
            "--line",
            "20",
            "--character",
            "0",
            "--budget-tokens",
            "2048",
            "--json",
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="acr-index-speed-"))
    try:
        root = generate(workdir / "ws", args.files)
        sources = list(root.rglob("*.ts"))
        total_lines = sum(p.read_text().count("\n") for p in sources)
        print(f"workspace: {len(sources)} files, {total_lines:,} lines")

        started = time.perf_counter()
        index = WorkspaceIndex.open(root, use_cache=False)
        cold = time.perf_counter() - started
        print(f"cold index (in-process, no cache): {cold:.2f} s for {len(index)} files  [target <= 5 s]")
        del index
        gc.collect()
        tracemalloc.start()
        index = WorkspaceIndex.open(root, use_cache=False)
        snapshot = index.snapshot()
        _ = snapshot.importers, snapshot.definers
        heap, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"memory: peak RSS {rss_mb:.0f} MB (whole process), index heap {heap / 2**20:.0f} MB  [target <= 200 MB]")

        print(f"CLI context, fresh process, cold (builds + writes the cache): {cli_seconds(root):.2f} s")
        print(f"CLI context, fresh process, warm (cache):                     {cli_seconds(root):.2f} s")

        big = root / "src" / "d0" / "m0.ts"
        text = big.read_text()
        uri = big.as_uri()
        docs = DocumentTrees()
        docs.open(uri, text)
        lines_now = text.split("\n")
        rng = random.Random(1)
        in_body = [i for i, t in enumerate(lines_now) if t.startswith("    const v")]
        in_class = [i for i, t in enumerate(lines_now) if t.startswith("  method")]
        reindex: list[float] = []
        results: dict[str, list[float]] = {}
        for label, candidates in (("inside a method body", in_body), ("between class members", in_class)):
            keystrokes = results.setdefault(label, [])
            for burst in range(20):
                keystrokes += type_and_erase(docs, uri, rng.choice(candidates))
                if burst % 4 == 0:
                    tree = docs.tree(uri)
                    assert tree is not None
                    started = time.perf_counter()
                    symbols = extract(tree, docs.source(uri))
                    reindex.append(time.perf_counter() - started)
        assert docs.text(uri) == text
        line_count = text.count("\n") + 1
        everything = [t for values in results.values() for t in values]
        for label, values in [*results.items(), ("all", everything)]:
            p50, p99 = percentiles(values)
            print(
                f"keystroke in a {line_count:,}-line file, incremental re-parse, {label}: "
                f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms  [target <= 5 ms]"
            )
        r50, r99 = percentiles(reindex)
        started = time.perf_counter()
        parse(docs.source(uri), "typescript")
        full = time.perf_counter() - started
        print(
            f"  re-extracting that file's symbols from the new tree: p50 {r50 * 1000:.1f} ms, p99 {r99 * 1000:.1f} ms"
            f" (a full parse alone: {full * 1000:.1f} ms) - done debounced, not per keystroke"
        )
        del symbols

        timings: list[float] = []
        targets = [p for p in sorted(snapshot.files) if p != "src/d0/m0.ts"][:200]
        for rel in targets:
            doc_text = snapshot.text(rel)
            symbols_now = snapshot.files[rel]
            request = ContextRequest(
                rel, doc_text, min(25, doc_text.count("\n")), 0, budget_tokens=1024, symbols=symbols_now
            )
            started = time.perf_counter()
            prune(snapshot, request)
            timings.append(time.perf_counter() - started)
        q50, q99 = percentiles(timings)
        print(f"prune at 1,024 tokens (symbols from the parse cache): p50 {q50 * 1000:.2f} ms, p99 {q99 * 1000:.2f} ms")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
