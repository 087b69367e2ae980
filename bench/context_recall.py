"""Hidden-line recall of the context pruner on real TypeScript, against baselines in the same run.

Sources: eight npm packages that ship their ``.ts`` sources, pinned below, fetched once with
``npm pack`` into ``bench/.cache/`` (no network after that). Each package is one workspace.

A case: a line of a source file that uses definitions from other files of the workspace (an imported
name, directly or through ``ns.member``, resolved through re-export chains to its declaration). The line
is blanked (its indentation kept), the cursor is put there, and each strategy gets the same request.
A definition counts as recalled when a snippet from its file covers its name line and contains its name.

Strategies, all with the same window share and budget accounting (``tokens.estimate_tokens``):
  ours            ``pruning_strategy: dependency_graph`` (the shipped pruner)
  imports-whole   baseline: the current file + whole imported files in import order
  current-file    baseline: the current file alone (window grown to the whole budget)
  aider-like      a re-implementation of aider's repo map ranking (PageRank over the definition/reference
                  graph personalised to the current file, identifiers near the cursor boosted x10, long
                  camel/snake names x10, private x0.1, widely defined x0.1), definitions rendered as the
                  same signatures — to show what the import/cursor evidence adds

Run:  .venv/bin/python bench/context_recall.py [--cases-per-package 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from ai_coding_router.config import ContextConfig  # noqa: E402
from ai_coding_router.context.index import IndexSnapshot, WorkspaceIndex  # noqa: E402
from ai_coding_router.context.prune import (  # noqa: E402
    ContextRequest,
    ContextResult,
    _add_window,
    _Packer,
    _result,
    _window_budget,
    prune,
)
from ai_coding_router.context.resolve import SymbolTarget  # noqa: E402
from ai_coding_router.context.symbols import KEYWORDS, Definition  # noqa: E402

PACKAGES = (
    "rxjs@7.8.2",
    "zod@4.6.7",
    "msw@3.0.5",
    "mobx@7.1.3",
    "immer@11.2.10",
    "@reduxjs/toolkit@2.14.0",
    "@tanstack/query-core@5.108.0",
    "@trpc/server@11.25.2",
)
BUDGETS = (1024, 2048, 4096, 8192)
CACHE = ROOT / "bench" / ".cache"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_MEMBER = re.compile(r"([A-Za-z_$][\w$]*)\s*\??\.\s*([A-Za-z_$][\w$]*)")
_STRINGS = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|//.*$""")


def fetch(spec: str) -> Path:
    """The unpacked package directory of ``spec`` (``npm pack`` on first use)."""
    name, _, version = spec.rpartition("@")
    slug = name.replace("@", "").replace("/", "-") + "-" + version
    target = CACHE / "src" / slug
    if (target / "package.json").is_file():
        return target
    tarballs = CACHE / "tarballs"
    tarballs.mkdir(parents=True, exist_ok=True)
    tgz = tarballs / f"{slug}.tgz"
    if not tgz.is_file():
        out = subprocess.run(
            ["npm", "pack", spec, "--silent", "--json", "--pack-destination", str(tarballs)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
            env={k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"},
        )
        filename = json.loads(out.stdout)[0]["filename"].replace("@", "").replace("/", "-")
        (tarballs / filename).rename(tgz)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith("package/") or ".." in member.name:
                continue
            dest = target / member.name[len("package/") :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is not None:
                dest.write_bytes(source.read())
    return target


@dataclass(frozen=True)
class Case:
    package: str
    path: str
    line: int
    indent: str
    targets: tuple[SymbolTarget, ...]


def _code_idents(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    code = _STRINGS.sub("", text)
    return set(_IDENT.findall(code)), set(_MEMBER.findall(code))


def _import_spans(path: str, text: str) -> set[int]:
    """Every line of every import statement and ``export … from`` (hiding one would drop a binding)."""
    from ai_coding_router.context.languages import grammar_for, parse

    tree = parse(text.encode(), grammar_for(path) or "typescript")
    lines: set[int] = set()
    for node in tree.root_node.named_children:
        if node.type == "import_statement" or (
            node.type == "export_statement" and node.child_by_field_name("source") is not None
        ):
            lines.update(range(node.start_point[0], node.end_point[0] + 1))
    return lines


def make_cases(package: str, snap: IndexSnapshot, rng: random.Random, count: int) -> list[Case]:
    found: list[Case] = []
    for path in sorted(snap.files):
        if path.endswith(".d.ts"):
            continue
        symbols = snap.files[path]
        bindings: dict[str, tuple[str, str]] = {}
        for index, record in enumerate(symbols.imports):
            target = snap.target_of(path, index)
            if target is None or record.kind not in ("import", "require"):
                continue
            for b in record.bindings:
                bindings[b.local] = (target, b.imported)
        if not bindings:
            continue
        text_all = snap.text(path)
        import_lines = _import_spans(path, text_all)
        lines = text_all.split("\n")
        file_cases: list[Case] = []
        for number, text in enumerate(lines):
            stripped = text.strip()
            skip = ("import ", "export {", "export *", "//", "*", "/*")
            if number in import_lines or not stripped or stripped.startswith(skip):
                continue
            idents, members = _code_idents(text)
            targets: dict[tuple[str, int], SymbolTarget] = {}
            for name in idents:
                if name in bindings and name not in KEYWORDS:
                    target, imported = bindings[name]
                    if imported == "*":
                        continue
                    for hit in snap.find_export(target, imported)[:1]:
                        if hit.path != path:
                            targets[(hit.path, hit.definition.name_line)] = hit
            for obj, member in members:
                if obj in bindings and bindings[obj][1] == "*":
                    for hit in snap.find_export(bindings[obj][0], member)[:1]:
                        if hit.path != path:
                            targets[(hit.path, hit.definition.name_line)] = hit
            if targets:
                indent = text[: len(text) - len(text.lstrip())]
                file_cases.append(Case(package, path, number, indent, tuple(targets.values())))
        rng.shuffle(file_cases)
        found.extend(file_cases[:3])  # at most three lines per file, for variety
    rng.shuffle(found)
    return found[:count]


def recalled(result: ContextResult, target: SymbolTarget) -> bool:
    d = target.definition
    return any(
        s.path == target.path and s.start_line <= d.name_line <= s.end_line and d.name in s.text
        for s in result.snippets
    )


# --- aider-like ranking (re-implemented from the description of aider's repomap) -------------------------


class AiderLike:
    def __init__(self, snap: IndexSnapshot) -> None:
        self.snap = snap
        self._memo: dict[tuple[str, frozenset[str]], list[tuple[str, Definition]]] = {}
        self.defines: dict[str, set[str]] = defaultdict(set)
        self.definitions: dict[tuple[str, str], list[Definition]] = defaultdict(list)
        for path, symbols in snap.files.items():
            for d in symbols.top_level():
                self.defines[d.name].add(path)
                self.definitions[(path, d.name)].append(d)

    def ranked(self, view: IndexSnapshot, current: str, mentioned: set[str]) -> list[tuple[str, Definition]]:
        key = (current, frozenset(mentioned))
        if key not in self._memo:
            self._memo.clear()
            self._memo[key] = self._ranked(view, current, mentioned)
        return self._memo[key]

    def _ranked(self, view: IndexSnapshot, current: str, mentioned: set[str]) -> list[tuple[str, Definition]]:
        files = sorted(view.files)
        references: dict[str, Counter[str]] = defaultdict(Counter)
        for path in files:
            for name, count in view.files[path].references.items():
                if name in self.defines:
                    references[name][path] += count
        edges: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
        for ident, definers in self.defines.items():
            if ident not in references:
                continue
            mul = 1.0
            is_snake = "_" in ident and any(c.isalpha() for c in ident)
            is_camel = any(c.isupper() for c in ident) and any(c.islower() for c in ident)
            if ident in mentioned:
                mul *= 10
            if (is_snake or is_camel) and len(ident) >= 8:
                mul *= 10
            if ident.startswith("_"):
                mul *= 0.1
            if len(definers) > 5:
                mul *= 0.1
            for referencer, count in references[ident].items():
                for definer in definers:
                    use = mul * (50 if referencer == current else 1)
                    edges[referencer].append((definer, use * math.sqrt(count), ident))
        rank = {f: (1.0 if f == current else 0.0) for f in files}
        for _ in range(20):
            nxt = {f: (0.15 if f == current else 0.0) for f in files}
            for node, out in edges.items():
                total = sum(w for _, w, _ in out)
                for target, weight, _ in out:
                    nxt[target] = nxt.get(target, 0.0) + 0.85 * rank.get(node, 0.0) * weight / total
            rank = nxt
        scores: dict[tuple[str, str], float] = defaultdict(float)
        for node, out in edges.items():
            total = sum(w for _, w, _ in out)
            for target, weight, ident in out:
                scores[(target, ident)] += rank.get(node, 0.0) * weight / total
        ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return [
            (path, d)
            for (path, ident), _ in ordered
            if path != current
            for d in self.definitions.get((path, ident), [])
        ]


def aider_prune(aider: AiderLike, snap: IndexSnapshot, request: ContextRequest) -> ContextResult:
    from ai_coding_router.context.languages import grammar_for, parse
    from ai_coding_router.context.prune import _Candidate, _place, _Texts
    from ai_coding_router.context.symbols import extract

    source = request.text.encode()
    symbols = extract(parse(source, grammar_for(request.path) or "typescript"), source)
    view = snap.with_document(request.path, request.text, symbols)
    lines = request.text.split("\n")
    packer = _Packer(request.budget_tokens, request.options.max_files)
    _add_window(
        packer,
        request.path,
        lines,
        request.line,
        request.line,
        _window_budget(request.budget_tokens, request.task),
        symbols,
    )
    window = packer.snippets[0].text if packer.snippets else ""
    mentioned = set(_IDENT.findall(window)) - KEYWORDS
    texts = _Texts(view)
    for path, d in aider.ranked(view, request.path, mentioned)[:400]:
        _place(packer, _Candidate(path, d, 1.0, "related"), texts, request.options, {})
    return _result(packer, request)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases-per-package", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-aider", action="store_true", help="skip the (slow) aider-like comparator")
    args = parser.parse_args()

    strategies: dict[str, Callable[[IndexSnapshot, ContextRequest], ContextResult]] = {
        "ours": prune,
        "imports-whole": lambda s, r: prune(
            s, replace(r, options=r.options.model_copy(update={"pruning_strategy": "imports"}))
        ),
        "current-file": lambda s, r: prune(
            s, replace(r, options=r.options.model_copy(update={"pruning_strategy": "current_file"}))
        ),
    }
    hits: dict[tuple[str, int], int] = Counter()
    totals: dict[tuple[str, int], int] = Counter()
    tokens: dict[tuple[str, int], list[int]] = defaultdict(list)
    seconds: dict[str, float] = Counter()
    per_package: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    n_cases = 0
    options = ContextConfig()
    for spec in PACKAGES:
        root = fetch(spec)
        started = time.perf_counter()
        index = WorkspaceIndex.open(root, use_cache=False)
        build = time.perf_counter() - started
        snap = index.snapshot()
        rng = random.Random(f"{args.seed}:{spec}")
        cases = make_cases(spec, snap, rng, args.cases_per_package)
        aider = None if args.no_aider else AiderLike(snap)
        print(f"{spec}: {len(snap.files)} files indexed in {build:.2f}s, {len(cases)} cases", flush=True)
        runners = dict(strategies)
        if aider is not None:
            runners["aider-like"] = lambda s, r, a=aider: aider_prune(a, s, r)
        for case in cases:
            n_cases += 1
            lines = snap.text(case.path).split("\n")
            lines[case.line] = case.indent
            text = "\n".join(lines)
            for budget in BUDGETS:
                request = ContextRequest(
                    case.path,
                    text,
                    case.line,
                    len(case.indent),
                    task="completion",
                    budget_tokens=budget,
                    options=options,
                )
                for name, run in runners.items():
                    t0 = time.perf_counter()
                    result = run(snap, request)
                    seconds[f"{name}@{budget}"] += time.perf_counter() - t0
                    assert result.tokens <= budget, (name, budget, result.tokens)
                    got = sum(recalled(result, t) for t in case.targets)
                    hits[(name, budget)] += got
                    totals[(name, budget)] += len(case.targets)
                    tokens[(name, budget)].append(result.tokens)
                    cell = per_package[(spec, name, budget)]
                    cell[0] += got
                    cell[1] += len(case.targets)
    names = list(strategies) + ([] if args.no_aider else ["aider-like"])
    print(f"\n{n_cases} cases, {totals[('ours', BUDGETS[0])]} target definitions")
    print("recall (tokens used, mean)")
    print(f"{'strategy':<14}" + "".join(f"{b:>18}" for b in BUDGETS))
    for name in names:
        cells = []
        for b in BUDGETS:
            r = hits[(name, b)] / max(1, totals[(name, b)])
            mean = sum(tokens[(name, b)]) / max(1, len(tokens[(name, b)]))
            cells.append(f"{r:>8.3f} ({mean:>6.0f})")
        print(f"{name:<14}" + "".join(f"{c:>18}" for c in cells))
    print("\nper package recall @2048 / @4096 (ours | imports-whole | aider-like)")
    for spec in PACKAGES:
        row = []
        for name in ("ours", "imports-whole", "aider-like"):
            if name not in names:
                continue
            vals = []
            for b in (2048, 4096):
                h, t = per_package[(spec, name, b)]
                vals.append(f"{h / max(1, t):.2f}")
            row.append("/".join(vals))
        print(f"  {spec:<30} " + " | ".join(row))
    print("\nmean prune time per call (ms)")
    for name in names:
        print(
            f"  {name:<14}"
            + "".join(f"{1000 * seconds[f'{name}@{b}'] / max(1, len(tokens[(name, b)])):>9.1f}" for b in BUDGETS)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
