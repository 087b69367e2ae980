"""Escalation payload size (the seed's pitfall #6) and pipeline overhead, through the loopback fake API.

    .venv/bin/python bench/escalation.py [--sizes 0,10,40,120]

For each size N, a copy of examples/workspace gets N extra functions in src/user.ts (so the first request
carries a realistic amount of context). The fast model (scripted) breaks a constant, which fails a vitest
test; the pipeline escalates to the deep model, whose scripted fix validates. Printed per size:

* the first request (system + context) and the focused escalation request, in estimated tokens;
* what the seed's naive escalation would send (the original request + the fast model's full output +
  the errors) — the payload pitfall #6 warns about;
* where the time goes: routing/context, model calls (the fake answers at once), validation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT))

from tests.fake_anthropic import FakeAnthropic  # noqa: E402

from ai_coding_router import prompts  # noqa: E402
from ai_coding_router.config import Config  # noqa: E402
from ai_coding_router.context.tokens import estimate_tokens  # noqa: E402
from ai_coding_router.models.anthropic_client import AnthropicModelClient  # noqa: E402
from ai_coding_router.pipeline import EngineContext, PipelineDeps, TaskSpec, TextRange, prepare_task, run_task  # noqa: E402
from ai_coding_router.validation.runner import ValidationSession  # noqa: E402

FAST, DEEP = "claude-sonnet-4-6", "claude-opus-4-7"
OLD = "const AGE_RANGE: Range = { min: 0, max: 150 };"
BROKEN = "const AGE_RANGE: Range = { min: 0, max: 120 };"
BODY = "  return { id, name, age: clamp(age, AGE_RANGE) };"
TRIMMED = "  return { id, name: name.trim(), age: clamp(age, AGE_RANGE) };"


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def extra_functions(n: int) -> str:
    return "".join(
        f"\nexport function describeUser{i}(user: User): string {{\n"
        f"  const label = user.name.trim() || `user ${{user.id}}`;\n"
        f"  return `${{label}} (${{user.age}}) #{i}`;\n}}\n"
        for i in range(n)
    )


async def one(size: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(ROOT / "examples" / "workspace", root, ignore=shutil.ignore_patterns(".ai-coding-router"))
        user = root / "src" / "user.ts"
        user.write_text(user.read_text() + extra_functions(size))
        # The fast model does the task (trim the name) and breaks a constant; the deep model fixes that.
        fast_reply = block("src/user.ts", OLD, BROKEN) + block("src/user.ts", BODY, TRIMMED)
        with FakeAnthropic() as fake:
            fake.script(FAST, fast_reply)
            fake.script(DEEP, block("src/user.ts", BROKEN, OLD))
            client = AnthropicModelClient(api_key="bench", base_url=fake.base_url)
            config = Config.model_validate({"validation": {"allow_running_tests": True}})
            deps = PipelineDeps(client, config, EngineContext(config.context, use_cache=False), ValidationSession())
            task = TaskSpec("bench", "fix", root, "src/user.ts", TextRange(8, 0, 12, 1),
                            "createUser should store the trimmed name", trusted=True)
            stages: list[tuple[str, float]] = []
            started = time.perf_counter()
            prepared = await prepare_task(task, deps)
            routed = time.perf_counter()
            result = await run_task(task, deps, lambda s, m: stages.append((s, time.perf_counter())),
                                    prepared=prepared)
            total = time.perf_counter() - started
            await client.aclose()
            assert result.status == "validated" and result.escalation is not None, result.summary
            first_body = fake.requests[0].body
        first_text = "".join(b["text"] for b in first_body["system"]) + first_body["messages"][0]["content"]
        naive = first_text + "\n" + fast_reply + "\n" + prompts.condense(result.findings or ())
        validation_s = sum(
            (stages[i + 1][1] if i + 1 < len(stages) else time.perf_counter()) - t
            for i, (s, t) in enumerate(stages) if s == "validating"
        )
        return {
            "extra_functions": size, "file_lines": user.read_text().count("\n"),
            "first_tokens": result.escalation.first_request.tokens,
            "escalation_tokens": result.escalation.escalation.tokens,
            "naive_tokens": estimate_tokens(naive),
            "ratio": round(result.escalation.ratio, 3),
            "route_s": round(routed - started, 3), "validation_s": round(validation_s, 3),
            "total_s": round(total, 3),
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10,40,120")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [await one(int(n)) for n in args.sizes.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'extra fns':>9} {'lines':>6} {'first':>7} {'focused':>8} {'naive':>7} {'ratio':>6} "
          f"{'route s':>8} {'valid. s':>9} {'total s':>8}")
    for r in rows:
        print(f"{r['extra_functions']:>9} {r['file_lines']:>6} {r['first_tokens']:>7} {r['escalation_tokens']:>8} "
              f"{r['naive_tokens']:>7} {r['ratio']:>6} {r['route_s']:>8} {r['validation_s']:>9} {r['total_s']:>8}")
    print("tokens are the pipeline's conservative local estimate (context/tokens.py) of system + messages;")
    print("naive = the seed's escalation: the original request + the fast model's output + the errors.")


if __name__ == "__main__":
    asyncio.run(main())
