import { describe, expect, it } from 'vitest';
import {
  INSTALL_HINT,
  expandPath,
  findExecutable,
  missingCommandMessage,
  readLaunchSettings,
  resolveLaunch,
  startFailedMessage,
} from '../src/launch';

const vars = { home: '/home/dev', workspaceFolder: '/work/app' };

describe('readLaunchSettings', () => {
  it('uses defaults for missing, empty or wrongly typed values', () => {
    expect(readLaunchSettings(() => undefined)).toEqual({ path: 'ai-coding-router', args: [], pythonPath: null });
    const odd: Record<string, unknown> = { 'server.path': '  ', 'server.args': 'x', 'server.pythonPath': 7 };
    expect(readLaunchSettings((key) => odd[key])).toEqual({ path: 'ai-coding-router', args: [], pythonPath: null });
  });

  it('keeps string arguments only', () => {
    const set: Record<string, unknown> = { 'server.args': ['--log-level', 3, 'debug'], 'server.pythonPath': ' py ' };
    expect(readLaunchSettings((key) => set[key])).toEqual({
      path: 'ai-coding-router',
      args: ['--log-level', 'debug'],
      pythonPath: 'py',
    });
  });
});

describe('resolveLaunch', () => {
  it('runs `<path> serve <args>` by default', () => {
    expect(resolveLaunch({ path: 'ai-coding-router', args: ['--x'], pythonPath: null }, vars)).toEqual({
      command: 'ai-coding-router',
      args: ['serve', '--x'],
      viaPython: false,
    });
  });

  it('runs `python -m ai_coding_router serve` when an interpreter is set, expanding variables', () => {
    const launch = resolveLaunch({ path: 'ignored', args: [], pythonPath: '${workspaceFolder}/.venv/bin/python' }, vars);
    expect(launch).toEqual({ command: '/work/app/.venv/bin/python', args: ['-m', 'ai_coding_router', 'serve'], viaPython: true });
  });
});

describe('expandPath', () => {
  it('expands ~ and ${userHome} and leaves the rest alone', () => {
    expect(expandPath('~/bin/acr', vars)).toBe('/home/dev/bin/acr');
    expect(expandPath('${userHome}/acr', vars)).toBe('/home/dev/acr');
    expect(expandPath('a~b', vars)).toBe('a~b');
    expect(expandPath('${workspaceFolder}/x', { home: '/h', workspaceFolder: undefined })).toBe('${workspaceFolder}/x');
  });
});

describe('findExecutable', () => {
  const files = new Set(['/usr/bin/ai-coding-router', '/work/app/venv/bin/python', 'C:\\Tools\\acr.CMD']);
  const base = { cwd: '/work/app', platform: 'linux' as const, isExecutable: (f: string) => files.has(f) };

  it('searches PATH for a bare name', () => {
    expect(findExecutable('ai-coding-router', { ...base, pathEnv: '/nope::/usr/bin' })).toBe('/usr/bin/ai-coding-router');
    expect(findExecutable('ai-coding-router', { ...base, pathEnv: '/nope' })).toBeUndefined();
    expect(findExecutable('ai-coding-router', { ...base, pathEnv: undefined })).toBeUndefined();
  });

  it('resolves paths relative to the workspace', () => {
    expect(findExecutable('venv/bin/python', { ...base, pathEnv: '' })).toBe('/work/app/venv/bin/python');
    expect(findExecutable('/work/app/venv/bin/python', { ...base, pathEnv: '' })).toBe('/work/app/venv/bin/python');
    expect(findExecutable('./missing', { ...base, pathEnv: '/usr/bin' })).toBeUndefined();
  });

  it('tries PATHEXT on Windows', () => {
    const lookup = { ...base, platform: 'win32' as const, pathEnv: 'C:\\Tools', pathExt: '.EXE;.CMD' };
    expect(findExecutable('acr', lookup)).toBe('C:\\Tools\\acr.CMD');
  });
});

describe('messages', () => {
  const plain = resolveLaunch({ path: 'ai-coding-router', args: [], pythonPath: null }, vars);
  const python = resolveLaunch({ path: 'x', args: [], pythonPath: '/opt/py' }, vars);

  it('names the missing command and both install commands', () => {
    const message = missingCommandMessage(plain);
    expect(message).toContain('"ai-coding-router" was not found');
    expect(message).toContain('pip install ai-coding-router');
    expect(message).toContain('pip install -e .');
    expect(missingCommandMessage(python)).toContain('interpreter "/opt/py"');
  });

  it('includes the failing command line and the reason', () => {
    const message = startFailedMessage(python, new Error('Connection closed'));
    expect(message).toContain('"/opt/py -m ai_coding_router serve"');
    expect(message).toContain('(Connection closed)');
    expect(message).toContain(INSTALL_HINT);
    expect(startFailedMessage(plain, undefined)).toContain('failed to start. Is it installed');
  });
});
