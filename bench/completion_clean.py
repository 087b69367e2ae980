"""Speed of ``clean_completion`` (the whole cleaning step, syntax cut included) on a 5,000-line file.

Cursor positions: inside a method of a 150-line class (the nested region), inside a top-level function,
and mid-expression on a line. Replies: clean code (the fast path), prose + fences, a repeated line, an
overlap with the auto-closed suffix, garbage after good code (the cut search runs), and the worst
case: a hard error on the first of 16 lines, so every cut is parsed and none is clean.
"Cold" clears the cached base parse first, as after every keystroke; "warm" is a second call at the same
position (the partial-stream checks of one request).

Run:  .venv/bin/python bench/completion_clean.py [--lines 5000] [--repeat 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from ai_coding_router.completion import syntax  # noqa: E402
from ai_coding_router.completion.postprocess import clean_completion  # noqa: E402
from ai_coding_router.completion.prompt import (  # noqa: E402
    build_completion_request,
    prompt_key,
    until_enclosing_scope,
)

CLASS_METHOD = """\
  method{m}(items: Item[], limit: number): number {{
    let total = 0;
    for (const item of items) {{
      if (item.value > limit) {{
        total += item.value * {m};
      }}
    }}
    return total;
  }}

"""

FUNCTION = """\
export function compute{i}(items: Item[], limit: number): Result {{
  const kept = items.filter((item) => item.value > limit);
  const sum = kept.reduce((acc, item) => acc + item.value, 0);
  if (sum > {i}) {{
    logger.info(`large sum ${{sum}}`);
  }}
  return {{ sum, count: kept.length }};
}}

"""


def make_file(lines: int) -> str:
    parts = ["import { Item, Result } from './types';\nimport { logger } from './log';\n\n"]
    i = 0
    while sum(p.count("\n") for p in parts) < lines:
        if i % 10 == 0:
            parts.append(f"export class Service{i} {{\n")
            parts.extend(CLASS_METHOD.format(m=m) for m in range(15))
            parts.append("}\n\n")
        else:
            parts.append(FUNCTION.format(i=i))
        i += 1
    return "".join(parts)


def split_at(text: str, marker: str, occurrence: int, after: str = "") -> tuple[str, str]:
    index = -1
    for _ in range(occurrence):
        index = text.index(marker, index + 1)
    cursor = index + len(marker) + len(after)
    return text[:cursor], text[cursor:]


def scenarios(source: str) -> list[tuple[str, str, str, str]]:
    cases: list[tuple[str, str, str, str]] = []
    # Cursor at the start of an empty line inside a method, in the middle of the file.
    prefix, suffix = split_at(source, "    let total = 0;\n", 120)
    prefix, suffix = prefix + "    ", "\n" + suffix
    cases.append(("method: clean", prefix, suffix, "<insert>const seen = new Set<string>();"))
    fenced = "Here is the code:\n```ts\nconst seen = new Set<string>();\n```"
    cases.append(("method: prose+fence", prefix, suffix, fenced))
    cases.append(("method: repeated line", prefix, suffix, "total += 1;\ntotal += 1;\ntotal += 1;\ntotal += 1;"))
    cases.append(
        ("method: garbage tail (cuts)", prefix, suffix,
         "const seen = new Set<string>();\nfor (const item of items) {\n  seen.add(item.name);\n}\nreturn (seen +;")
    )
    worst = "const broken = (;\n" + "".join(f"total += items[{i}].value;\n" for i in range(15))
    cases.append(("method: worst case (no clean cut)", prefix, suffix, worst))
    # Inside a top-level function, mid-expression with an auto-closed paren.
    prefix, suffix = split_at(source, "  const kept = items.filter(", 100)
    suffix = ");" + suffix[suffix.index("\n") :]  # the user typed "(": the editor closed it
    cases.append(("function: overlap ')'", prefix, suffix, "(item) => item.value > limit);"))
    leaving = "(item) => item.value > limit);\n}\n\nexport function x() {}"
    cases.append(("function: leaves the block", prefix, suffix, leaving))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    source = make_file(args.lines)
    print(f"file: {source.count(chr(10))} lines, {len(source)} characters")
    print(f"{'scenario':34} {'result':38} {'cold p50':>9} {'cold p99':>9} {'warm p50':>9}")
    everything: list[float] = []
    for name, prefix, suffix, raw in scenarios(source):
        cold: list[float] = []
        warm: list[float] = []
        result = None
        for _ in range(args.repeat):
            syntax._base_cache.clear()
            t0 = time.perf_counter()
            result = clean_completion(raw, prefix=prefix, suffix=suffix, language_id="typescript")
            t1 = time.perf_counter()
            clean_completion(raw, prefix=prefix, suffix=suffix, language_id="typescript")
            t2 = time.perf_counter()
            cold.append((t1 - t0) * 1000)
            warm.append((t2 - t1) * 1000)
        everything.extend(cold)
        cold.sort()
        shown = repr(result)[:36]
        print(
            f"{name:34} {shown:38} {statistics.median(cold):7.3f}ms {cold[int(0.99 * len(cold))]:7.3f}ms "
            f"{statistics.median(warm):7.3f}ms"
        )
    everything.sort()
    print(
        f"all scenarios, cold: p50 {statistics.median(everything):.3f} ms, "
        f"p99 {everything[int(0.99 * len(everything))]:.3f} ms, max {everything[-1]:.3f} ms"
    )
    # The other pure steps of a request: fallback context, prompt, cache key (cursor deep in a class).
    cursor = source.index("    let total = 0;\n", source.index("method14(", len(source) // 2))
    prefix, suffix = source[:cursor], source[cursor:]
    timings: dict[str, list[float]] = {"until_enclosing_scope": [], "build_completion_request": [], "prompt_key": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        scope = until_enclosing_scope(source, cursor)
        t1 = time.perf_counter()
        request = build_completion_request(
            path="src/big.ts", language_id="typescript", prefix=prefix, suffix=suffix,
            context_snippets=[("src/big.ts", scope)], model="claude-sonnet-4-6", max_tokens=128, deadline_s=1.0,
        )
        t2 = time.perf_counter()
        prompt_key(request)
        t3 = time.perf_counter()
        timings["until_enclosing_scope"].append((t1 - t0) * 1000)
        timings["build_completion_request"].append((t2 - t1) * 1000)
        timings["prompt_key"].append((t3 - t2) * 1000)
    for name, values in timings.items():
        values.sort()
        print(f"{name:26} p50 {statistics.median(values):.3f} ms, p99 {values[int(0.99 * len(values))]:.3f} ms")


if __name__ == "__main__":
    main()
