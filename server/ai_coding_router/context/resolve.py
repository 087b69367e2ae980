"""Module resolution the way TypeScript's bundler/NodeNext resolution sees a workspace.

* relative specifiers with extension and ``index`` probing (``./x.js`` finds ``x.ts``, as TS allows);
* ``tsconfig.json`` ``baseUrl`` and ``paths`` (``*`` patterns), following ``extends`` chains (a relative
  file or a package in ``node_modules``, string or list) written in JSONC (comments, trailing commas);
* workspace packages by their ``package.json`` name: ``exports`` (subpaths, conditions, ``*`` patterns),
  then ``source``/``types``/``module``/``main``; a target in build output (``dist/x.js``) is mapped back
  to the source file (``src/x.ts``) because build output is not indexed;
* re-export chains (``export … from``, ``export *``, import-then-export) down to the definition, cycle-safe.

``Resolver`` only probes a set of known files (the index's), so resolution is pure and fast; reading
tsconfig and package.json files happens in ``load_project_config``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .symbols import Definition, FileSymbols

_PROBE_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_JS_TO_TS = {
    ".js": (".ts", ".tsx", ".d.ts"),
    ".jsx": (".tsx",),
    ".mjs": (".mts", ".d.mts"),
    ".cjs": (".cts", ".d.cts"),
}
_CONDITIONS = ("source", "types", "typings", "import", "module", "browser", "node", "default", "require")
_BUILD_DIRS = ("dist", "lib", "build", "out", "esm", "cjs", "es", "types", "dts")

_JSONC_TOKEN = re.compile(
    r'("(?:\\.|[^"\\])*")|(/\*[\s\S]*?\*/|//[^\n]*)|(,)(?=\s*(?:/\*[\s\S]*?\*/\s*|//[^\n]*\s*)*[}\]])'
)


def parse_jsonc(text: str) -> Any:
    """JSON with comments and trailing commas, as tsconfig files are written."""

    def keep(match: re.Match[str]) -> str:
        return match.group(1) or ""

    return json.loads(_JSONC_TOKEN.sub(keep, text.lstrip("\ufeff")))


@dataclass(frozen=True)
class PathsConfig:
    """The effective module options of one tsconfig, with every directory relative to the workspace root."""

    config: str  # the tsconfig file (workspace-relative)
    base_url: str | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()
    paths_base: str = ""


@dataclass(frozen=True)
class PackageInfo:
    name: str
    directory: str  # workspace-relative
    manifest: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    tsconfigs: Mapping[str, PathsConfig] = field(default_factory=dict)  # directory → its tsconfig
    packages: Mapping[str, PackageInfo] = field(default_factory=dict)  # package name → package


def _rel(root: Path, path: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = posixpath.normpath(path.as_posix())
    return "" if rel == "." else rel


def _read_json(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    try:
        data = parse_jsonc(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        warnings.append(f"{path}: {exc}")
        return None
    return data if isinstance(data, dict) else None


def _extends_targets(config_path: Path, extends: Any) -> list[Path]:
    specs = extends if isinstance(extends, list) else [extends]
    found: list[Path] = []
    for spec in specs:
        if not isinstance(spec, str) or not spec:
            continue
        if spec.startswith(".") or spec.startswith("/"):
            candidate = (config_path.parent / spec).resolve()
            options = [candidate, candidate.with_name(candidate.name + ".json")]
        else:  # a package: look in node_modules up the tree
            options = []
            for directory in [config_path.parent, *config_path.parent.parents]:
                base = directory / "node_modules" / spec
                options += [base, base.with_name(base.name + ".json"), base / "tsconfig.json"]
        hit = next((p for p in options if p.is_file()), None)
        if hit is not None:
            found.append(hit)
    return found


def load_tsconfig(root: Path, config_path: Path, warnings: list[str] | None = None) -> PathsConfig:
    """Read a tsconfig and its ``extends`` chain into the effective baseUrl/paths."""
    warnings = warnings if warnings is not None else []
    leaf_dir = config_path.parent
    state: dict[str, Any] = {"base_url": None, "paths": None, "paths_dir": None}
    seen: set[Path] = set()

    def visit(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            warnings.append(f"{path}: circular 'extends'")
            return
        seen.add(resolved)
        data = _read_json(path, warnings)
        if data is None:
            return
        for parent in _extends_targets(path, data.get("extends")):
            visit(parent)  # bases first, so this file's options win
        options = data.get("compilerOptions")
        if not isinstance(options, dict):
            return
        here = path.parent
        base_url = options.get("baseUrl")
        if isinstance(base_url, str):
            state["base_url"] = _config_dir(base_url, here, leaf_dir)
        paths = options.get("paths")
        if isinstance(paths, dict):
            state["paths"] = paths
            state["paths_dir"] = here

    visit(config_path)
    base_url: Path | None = state["base_url"]
    raw_paths: dict[str, Any] = state["paths"] or {}
    paths_dir: Path = base_url or state["paths_dir"] or leaf_dir
    paths = tuple(
        (pattern, tuple(str(t).replace("${configDir}", str(leaf_dir)) for t in targets))
        for pattern, targets in raw_paths.items()
        if isinstance(targets, list)
    )
    return PathsConfig(
        config=_rel(root, config_path),
        base_url=_rel(root, base_url) if base_url is not None else None,
        paths=paths,
        paths_base=_rel(root, paths_dir),
    )


def _config_dir(value: str, here: Path, leaf_dir: Path) -> Path:
    value = value.replace("${configDir}", str(leaf_dir))
    return (here / value).resolve()


def load_project_config(
    root: Path, tsconfig_files: Iterable[str], package_files: Iterable[str], warnings: list[str] | None = None
) -> ProjectConfig:
    """Read the workspace's tsconfig/jsconfig and package.json files (workspace-relative paths)."""
    warnings = warnings if warnings is not None else []
    tsconfigs: dict[str, PathsConfig] = {}
    for rel in sorted(tsconfig_files, key=lambda r: (posixpath.basename(r) != "tsconfig.json", r)):
        directory = posixpath.dirname(rel)
        if directory not in tsconfigs:
            tsconfigs[directory] = load_tsconfig(root, root / rel, warnings)
    packages: dict[str, PackageInfo] = {}
    for rel in sorted(package_files):
        data = _read_json(root / rel, warnings)
        if data is None or not isinstance(data.get("name"), str):
            continue
        name = data["name"]
        if name not in packages:  # the shallowest package.json of a name wins (sorted order)
            packages[name] = PackageInfo(name, posixpath.dirname(rel), data)
    return ProjectConfig(tsconfigs, packages)


class Resolver:
    """Resolves import specifiers against a fixed set of workspace files. Memoised; never touches disk."""

    def __init__(self, files: Iterable[str], project: ProjectConfig | None = None) -> None:
        self.files = frozenset(files)
        self.project = project or ProjectConfig()
        self._memo: dict[tuple[str, str], str | None] = {}
        self._tsconfig_memo: dict[str, PathsConfig | None] = {}
        self._dirs = frozenset(posixpath.dirname(f) for f in self.files)

    def resolve(self, importer: str, specifier: str) -> str | None:
        """The workspace file ``specifier`` names from ``importer``, or None (external or missing)."""
        key = (posixpath.dirname(importer), specifier)
        if key in self._memo:
            return self._memo[key]
        result = self._resolve(importer, specifier.split("?", 1)[0])
        self._memo[key] = result
        return result

    def _resolve(self, importer: str, spec: str) -> str | None:
        if not spec:
            return None
        if spec.startswith("./") or spec.startswith("../") or spec in (".", ".."):
            return self._probe(posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec)))
        if spec.startswith("/"):
            return None  # absolute file-system paths are outside the workspace model
        config = self.tsconfig_for(importer)
        if config is not None:
            hit = self._via_paths(config, spec)
            if hit is not None:
                return hit
            if config.base_url is not None:
                hit = self._probe(_join(config.base_url, spec))
                if hit is not None:
                    return hit
        return self._via_package(spec)

    def tsconfig_for(self, importer: str) -> PathsConfig | None:
        directory = posixpath.dirname(importer)
        if directory in self._tsconfig_memo:
            return self._tsconfig_memo[directory]
        found: PathsConfig | None = None
        probe = directory
        while True:
            found = self.project.tsconfigs.get(probe)
            if found is not None or not probe:
                break
            probe = posixpath.dirname(probe)
        self._tsconfig_memo[directory] = found
        return found

    def _via_paths(self, config: PathsConfig, spec: str) -> str | None:
        best: tuple[int, str, tuple[str, ...]] | None = None
        for pattern, targets in config.paths:
            if "*" in pattern:
                prefix, _, suffix = pattern.partition("*")
                if spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix) + len(suffix):
                    star = spec[len(prefix) : len(spec) - len(suffix)]
                    if best is None or len(prefix) > best[0]:
                        best = (len(prefix), star, targets)
            elif pattern == spec:
                best = (10_000, "", targets)
                break
        if best is None:
            return None
        for target in best[2]:
            hit = self._probe(_join(config.paths_base, target.replace("*", best[1])))
            if hit is not None:
                return hit
        return None

    def _via_package(self, spec: str) -> str | None:
        parts = spec.split("/")
        count = 2 if spec.startswith("@") else 1
        name, subpath = "/".join(parts[:count]), "/".join(parts[count:])
        package = self.project.packages.get(name)
        if package is None:
            return None
        manifest = package.manifest
        exports = manifest.get("exports")
        if exports is not None:
            hits = [
                hit
                for target in _export_targets(exports, "./" + subpath if subpath else ".")
                if (hit := self._package_file(package.directory, target)) is not None
            ]
            if hits:  # prefer a source file over a declaration file a condition also names
                return next((h for h in hits if not _is_declaration(h)), hits[0])
        if subpath:
            return self._probe(_join(package.directory, subpath)) or self._probe(
                _join(package.directory, "src/" + subpath)
            )
        for key in ("source", "types", "typings", "module", "main"):
            value = manifest.get(key)
            if isinstance(value, str):
                hit = self._package_file(package.directory, value)
                if hit is not None:
                    return hit
        return self._probe(_join(package.directory, "src/index")) or self._probe(_join(package.directory, "index"))

    def _package_file(self, directory: str, target: str) -> str | None:
        path = _join(directory, target)
        hit = self._probe(path)
        if hit is not None:
            return hit
        # Build output is not indexed: map dist/x.js (or .d.ts) back to src/x.ts.
        rel = posixpath.relpath(path, directory) if directory else path
        first, _, rest = rel.partition("/")
        if first in _BUILD_DIRS and rest:
            rest = re.sub(r"\.d\.(m|c)?ts$|\.(m|c)?jsx?$", "", rest)
            for nested in (rest, *rest.split("/", 1)[1:]):  # dist/esm/x.js → src/x.ts as well
                hit = self._probe(_join(directory, "src/" + nested))
                if hit is not None:
                    return hit
        return None

    def _probe(self, base: str) -> str | None:
        files = self.files
        stem, ext = posixpath.splitext(base)
        if ext in _JS_TO_TS:
            for alt in _JS_TO_TS[ext]:
                if stem + alt in files:
                    return stem + alt
        if base in files:
            return base
        for ext in _PROBE_EXTENSIONS:
            if base + ext in files:
                return base + ext
        if base in self._dirs or any(base + "/index" + e in files for e in _PROBE_EXTENSIONS):
            for ext in _PROBE_EXTENSIONS:
                if base + "/index" + ext in files:
                    return base + "/index" + ext
            package = next((p for p in self.project.packages.values() if p.directory == base), None)
            if package is not None:
                return self._via_package(package.name)
        return None


def _is_declaration(path: str) -> bool:
    return path.endswith((".d.ts", ".d.mts", ".d.cts"))


def _join(directory: str, path: str) -> str:
    joined = posixpath.normpath(posixpath.join(directory, path)) if directory else posixpath.normpath(path)
    return "" if joined == "." else joined


def _export_targets(exports: Any, subpath: str) -> list[str]:
    """Candidate file targets of a package ``exports`` field for one subpath, best condition first."""
    if isinstance(exports, str | list):
        return _condition_targets(exports) if subpath == "." else []
    if not isinstance(exports, dict):
        return []
    if not any(key.startswith(".") for key in exports):
        return _condition_targets(exports) if subpath == "." else []  # conditions at the top level
    if subpath in exports:
        return _condition_targets(exports[subpath])
    best: tuple[int, str, Any] | None = None
    for key, value in exports.items():
        if "*" in key:
            prefix, _, suffix = key.partition("*")
            if subpath.startswith(prefix) and subpath.endswith(suffix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), subpath[len(prefix) : len(subpath) - len(suffix)], value)
    if best is None:
        return []
    return [t.replace("*", best[1]) for t in _condition_targets(best[2])]


def _condition_targets(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _condition_targets(item)]
    if isinstance(value, dict):
        keys = [k for k in _CONDITIONS if k in value] + [k for k in value if k not in _CONDITIONS]
        return [t for k in keys for t in _condition_targets(value[k])]
    return []


# --- symbols across files ------------------------------------------------------------------------------

ResolvedImports = Mapping[str, tuple[tuple[int, str | None], ...]]  # file → (import index, target file)


@dataclass(frozen=True, slots=True)
class SymbolTarget:
    path: str
    definition: Definition


def find_export(
    files: Mapping[str, FileSymbols],
    target_of: Callable[[str, int], str | None],
    path: str,
    name: str,
    _seen: set[tuple[str, str]] | None = None,
) -> list[SymbolTarget]:
    """Definitions behind export ``name`` of module ``path``, following re-export chains and cycles.

    ``target_of(path, i)`` is the resolved file of the i-th import record of ``path``. Returns every
    declaration merged under that name (overloads, interface merging), or [] when not found.
    """
    seen = _seen if _seen is not None else set()
    if (path, name) in seen:
        return []
    seen.add((path, name))
    symbols = files.get(path)
    if symbols is None:
        return []
    for export in symbols.exports:
        if export.exported == name:
            return find_local(files, target_of, path, export.local, seen)
    if name == "default":
        named = list(symbols.by_name.get("default", ()))
        if named:
            return [SymbolTarget(path, d) for d in named]
    for index, record in enumerate(symbols.imports):
        if record.kind == "reexport":
            for binding in record.bindings:
                if binding.local == name and binding.imported != "*":
                    target = target_of(path, index)
                    if target is not None:
                        return find_export(files, target_of, target, binding.imported, seen)
    for index, record in enumerate(symbols.imports):
        if record.kind == "reexport_all" and name != "default":
            target = target_of(path, index)
            if target is not None:
                found = find_export(files, target_of, target, name, seen)
                if found:
                    return found
    return []


def find_local(
    files: Mapping[str, FileSymbols],
    target_of: Callable[[str, int], str | None],
    path: str,
    local: str,
    _seen: set[tuple[str, str]] | None = None,
) -> list[SymbolTarget]:
    """Definitions a top-level name of ``path`` stands for: its own declaration or what it imports."""
    seen = _seen if _seen is not None else set()
    symbols = files.get(path)
    if symbols is None:
        return []
    own = [SymbolTarget(path, d) for d in symbols.by_name.get(local, ())]
    if own:
        return own
    for index, record in enumerate(symbols.imports):
        if record.kind not in ("import", "require", "dynamic"):
            continue
        for binding in record.bindings:
            if binding.local == local and binding.imported != "*":
                target = target_of(path, index)
                if target is not None:
                    return find_export(files, target_of, target, binding.imported, seen)
    return []


def module_exports(
    files: Mapping[str, FileSymbols],
    target_of: Callable[[str, int], str | None],
    path: str,
    _seen: set[str] | None = None,
) -> list[str]:
    """Every name module ``path`` exports, ``export *`` chains included (cycle-safe)."""
    seen = _seen if _seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    symbols = files.get(path)
    if symbols is None:
        return []
    names = [e.exported for e in symbols.exports]
    for index, record in enumerate(symbols.imports):
        if record.kind == "reexport":
            names += [b.local for b in record.bindings]
        elif record.kind == "reexport_all":
            target = target_of(path, index)
            if target is not None:
                names += [n for n in module_exports(files, target_of, target, seen) if n != "default"]
    return list(dict.fromkeys(names))
