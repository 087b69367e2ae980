// How the server process is started, and what the user is told when it cannot be. Pure: file-system
// and environment access are passed in.

import * as path from 'node:path';

export const DEFAULT_SERVER_COMMAND = 'ai-coding-router';
export const PYTHON_MODULE = 'ai_coding_router';
export const INSTALL_HINT =
  'Install it with "pip install ai-coding-router" (or "pip install -e ." in a clone of the project), ' +
  'or point the setting aiCodingRouter.server.path or aiCodingRouter.server.pythonPath at an installed copy.';

export interface LaunchSettings {
  path: string;
  args: readonly string[];
  pythonPath: string | null;
}

export interface Launch {
  command: string;
  args: string[];
  /** Started as `python -m ai_coding_router serve`. */
  viaPython: boolean;
}

export interface PathVariables {
  home: string;
  workspaceFolder: string | undefined;
}

/** Read the `aiCodingRouter.server.*` settings, falling back to defaults for wrong types. */
export function readLaunchSettings(get: (key: string) => unknown): LaunchSettings {
  const rawPath = get('server.path');
  const rawArgs = get('server.args');
  const rawPython = get('server.pythonPath');
  return {
    path: typeof rawPath === 'string' && rawPath.trim() !== '' ? rawPath.trim() : DEFAULT_SERVER_COMMAND,
    args: Array.isArray(rawArgs) ? rawArgs.filter((arg): arg is string => typeof arg === 'string') : [],
    pythonPath: typeof rawPython === 'string' && rawPython.trim() !== '' ? rawPython.trim() : null,
  };
}

/** Expand a leading `~`, `${userHome}` and `${workspaceFolder}` as VS Code users expect in path settings. */
export function expandPath(value: string, vars: PathVariables): string {
  let expanded = value.replaceAll('${userHome}', vars.home);
  if (vars.workspaceFolder !== undefined) {
    expanded = expanded.replaceAll('${workspaceFolder}', vars.workspaceFolder);
  }
  if (expanded === '~' || expanded.startsWith('~/')) {
    expanded = vars.home + expanded.slice(1);
  }
  return expanded;
}

export function resolveLaunch(settings: LaunchSettings, vars: PathVariables): Launch {
  if (settings.pythonPath !== null) {
    return {
      command: expandPath(settings.pythonPath, vars),
      args: ['-m', PYTHON_MODULE, 'serve', ...settings.args],
      viaPython: true,
    };
  }
  return { command: expandPath(settings.path, vars), args: ['serve', ...settings.args], viaPython: false };
}

export interface ExecutableLookup {
  pathEnv: string | undefined;
  cwd: string | undefined;
  platform: NodeJS.Platform;
  /** PATHEXT on Windows. */
  pathExt?: string | undefined;
  isExecutable: (file: string) => boolean;
}

/** Where `command` would be found by spawn(), or undefined when it would fail with ENOENT. */
export function findExecutable(command: string, lookup: ExecutableLookup): string | undefined {
  const pathApi = lookup.platform === 'win32' ? path.win32 : path.posix;
  const extensions =
    lookup.platform === 'win32' ? ['', ...(lookup.pathExt ?? '.EXE;.CMD;.BAT;.COM').split(';')] : [''];
  const candidates = (base: string): string[] => extensions.map((ext) => base + ext);
  const hasSeparator = command.includes('/') || (lookup.platform === 'win32' && command.includes('\\'));
  if (hasSeparator) {
    const absolute = pathApi.isAbsolute(command) ? command : pathApi.resolve(lookup.cwd ?? '', command);
    return candidates(absolute).find(lookup.isExecutable);
  }
  const delimiter = lookup.platform === 'win32' ? ';' : ':';
  for (const dir of (lookup.pathEnv ?? '').split(delimiter)) {
    if (dir === '') {
      continue;
    }
    const found = candidates(pathApi.join(dir, command)).find(lookup.isExecutable);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

export function describeLaunch(launch: Launch): string {
  return [launch.command, ...launch.args].join(' ');
}

export function missingCommandMessage(launch: Launch): string {
  const what = launch.viaPython
    ? `the Python interpreter "${launch.command}" (aiCodingRouter.server.pythonPath) was not found.`
    : `the server command "${launch.command}" was not found.`;
  return `AI Coding Router: ${what} ${INSTALL_HINT}`;
}

export function startFailedMessage(launch: Launch, error: unknown): string {
  const reason = errorText(error);
  const hint = launch.viaPython
    ? `Is ai-coding-router installed for that interpreter? ${INSTALL_HINT}`
    : `Is it installed and working? ${INSTALL_HINT}`;
  return `AI Coding Router: the server "${describeLaunch(launch)}" failed to start${reason ? ` (${reason})` : ''}. ${hint}`;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === 'string') {
    return error;
  }
  return '';
}
