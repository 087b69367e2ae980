"""Task files for headless runs (``ai-coding-router run TASKS.yaml``) and the ``--range`` syntax.

    workspace: workspace        # relative to this file (default: the file's folder)
    trusted: false              # default for every task: true lets the pipeline run the workspace's tests
    tags: {team: platform}      # default tags, merged under each task's own
    tasks:
      - id: sum-with-reduce
        kind: fix               # completion quick_fix explain tests fix refactor architecture security-review
        file: src/math.ts
        range: "11:1-17:2"      # 1-based line:column, as editors show them; "11-17" selects whole lines
        instruction: Use Array.prototype.reduce.
        tags: {feature_branch: cleanup}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..routing import TASK_KINDS
from .spec import TaskSpec, TextRange

_RANGE = re.compile(r"^\s*(\d+)(?::(\d+))?\s*-\s*(\d+)(?::(\d+))?\s*$")
_TASK_KEYS = {"id", "kind", "file", "range", "instruction", "tags", "trusted"}
_TOP_KEYS = {"workspace", "trusted", "tags", "tasks"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def parse_range(text: str) -> TextRange:
    """``L:C-L:C`` (1-based, end column exclusive like an editor's caret) or ``L-L`` (whole lines) → 0-based."""
    match = _RANGE.match(text)
    if match is None:
        raise ValueError(f"invalid range {text!r}: expected LINE:COL-LINE:COL or LINE-LINE (1-based)")
    start_line, start_col, end_line, end_col = match.groups()
    first, last = int(start_line), int(end_line)
    if first < 1 or last < first:
        raise ValueError(f"invalid range {text!r}: lines start at 1 and the end cannot come before the start")
    if start_col is None and end_col is None:
        return TextRange(first - 1, 0, last, 0)  # up to the start of the next line: the whole last line
    col_a, col_b = int(start_col or 1), int(end_col or 1)
    if col_a < 1 or col_b < 1:
        raise ValueError(f"invalid range {text!r}: columns start at 1")
    return TextRange(first - 1, col_a - 1, last - 1, col_b - 1)


@dataclass(frozen=True)
class TaskFile:
    path: Path
    root: Path
    tasks: tuple[TaskSpec, ...]


def _tags(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where}.tags: expected a mapping of tag names to values")
        return {}
    return {str(k): str(v) for k, v in value.items()}


def load_task_file(path: Path) -> TaskFile:
    """Parse and check a task file. Raises ConfigError listing every problem found."""
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"cannot read the task file: {exc.strerror or exc}"], source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"invalid YAML: {exc}"], source) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("tasks"), list):
        raise ConfigError(["the file must be a mapping with a `tasks` list"], source)
    problems = [f"unknown key {key!r}" for key in data if key not in _TOP_KEYS]
    root = (path.parent / str(data.get("workspace") or ".")).resolve()
    if not root.is_dir():
        problems.append(f"workspace: {root} is not a folder")
    default_trusted = bool(data.get("trusted", False))
    default_tags = _tags(data.get("tags"), "tags", problems)
    tasks: list[TaskSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(data["tasks"]):
        where = f"tasks[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: expected a mapping")
            continue
        problems.extend(f"{where}: unknown key {key!r}" for key in item if key not in _TASK_KEYS)
        task_id = str(item.get("id") or f"task-{index + 1}")
        if not _ID.match(task_id) or task_id in seen:
            problems.append(f"{where}.id: {task_id!r} must be unique, letters/digits/._- only")
        seen.add(task_id)
        kind = str(item.get("kind") or "")
        if kind not in TASK_KINDS:
            problems.append(f"{where}.kind: {kind!r} is not one of {', '.join(TASK_KINDS)}")
        file = item.get("file")
        if not isinstance(file, str) or not file:
            problems.append(f"{where}.file: required (a path relative to the workspace)")
            continue
        rng = None
        if item.get("range") is not None:
            try:
                rng = parse_range(str(item["range"]))
            except ValueError as exc:
                problems.append(f"{where}.range: {exc}")
        tasks.append(TaskSpec(
            task_id=task_id, kind=kind, root=root, file=file.replace("\\", "/"), range=rng,
            instruction=str(item.get("instruction") or ""),
            tags={**default_tags, **_tags(item.get("tags"), where, problems)},
            trusted=bool(item.get("trusted", default_trusted)),
        ))
    if problems:
        raise ConfigError(problems, source)
    return TaskFile(path, root, tuple(tasks))
