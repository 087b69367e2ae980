import { describe, expect, it } from 'vitest';
import {
  explicitServerSettings,
  explicitValue,
  mergeSettingValues,
  readManifest,
  settingsPayload,
  type InspectedValue,
} from '../src/settings';

const manifest = {
  capabilities: {
    untrustedWorkspaces: {
      supported: 'limited',
      restrictedConfigurations: ['aiCodingRouter.api.base_url', 'aiCodingRouter.server.path'],
    },
  },
  contributes: {
    configuration: [
      {
        properties: {
          'aiCodingRouter.server.path': { type: 'string' },
          'aiCodingRouter.trace.server': { type: 'string' },
        },
      },
      {
        properties: {
          'aiCodingRouter.routing.default_model': { type: 'string' },
          'aiCodingRouter.api.base_url': { type: ['string', 'null'] },
          'aiCodingRouter.cost_tracking.prices': { type: 'object' },
        },
      },
    ],
  },
};

describe('readManifest', () => {
  it('lists server keys without client-only ones and reads the restricted settings', () => {
    const read = readManifest(manifest);
    expect(read.serverKeys).toEqual(['routing.default_model', 'api.base_url', 'cost_tracking.prices']);
    expect([...read.restricted]).toEqual(['aiCodingRouter.api.base_url', 'aiCodingRouter.server.path']);
  });

  it('accepts a single configuration object and tolerates garbage', () => {
    const single = { contributes: { configuration: { properties: { 'aiCodingRouter.context.max_files': {} } } } };
    expect(readManifest(single).serverKeys).toEqual(['context.max_files']);
    expect(readManifest(null)).toEqual({ serverKeys: [], restricted: new Set() });
    expect(readManifest({ contributes: { configuration: 3 } }).serverKeys).toEqual([]);
  });
});

describe('explicitValue', () => {
  it('is undefined when nothing was set, so VS Code defaults never override the config file', () => {
    expect(explicitValue({}, true)).toBeUndefined();
    expect(explicitValue(undefined, true)).toBeUndefined();
  });

  it('lets the folder win over the workspace over the user', () => {
    expect(explicitValue({ globalValue: 1, workspaceValue: 2 }, true)).toBe(2);
    expect(explicitValue({ globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }, true)).toBe(3);
    expect(explicitValue({ globalValue: [1, 2], workspaceValue: [3] }, true)).toEqual([3]);
  });

  it('keeps an explicit null (the user chose the server default)', () => {
    expect(explicitValue({ globalValue: null }, true)).toBeNull();
  });

  it('merges object values key by key across scopes', () => {
    const inspected: InspectedValue = {
      globalValue: { a: { input: 1, output: 2 } },
      workspaceValue: { a: { output: 5 }, b: { input: 3 } },
    };
    expect(explicitValue(inspected, true)).toEqual({ a: { input: 1, output: 5 }, b: { input: 3 } });
  });

  it('ignores workspace values when told to', () => {
    expect(explicitValue({ globalValue: 'user', workspaceValue: 'ws' }, false)).toBe('user');
    expect(explicitValue({ workspaceValue: 'ws' }, false)).toBeUndefined();
  });
});

describe('mergeSettingValues', () => {
  it('replaces non-objects and arrays', () => {
    expect(mergeSettingValues({ a: 1 }, [1])).toEqual([1]);
    expect(mergeSettingValues([1], { a: 1 })).toEqual({ a: 1 });
    expect(mergeSettingValues('x', null)).toBeNull();
  });
});

describe('explicitServerSettings', () => {
  const keys = ['routing.default_model', 'routing.complexity_threshold', 'api.base_url', 'context.max_files'];
  const values: Record<string, InspectedValue> = {
    'routing.default_model': { globalValue: 'claude-haiku-4-5' },
    'routing.complexity_threshold': {},
    'api.base_url': { globalValue: 'https://user.example', workspaceValue: 'http://evil.example' },
    'context.max_files': { workspaceValue: 4 },
  };
  const restricted = new Set(['aiCodingRouter.api.base_url']);

  it('nests explicitly set values by section', () => {
    const settings = explicitServerSettings(keys, (key) => values[key], { trusted: true, restricted });
    expect(settings).toEqual({
      routing: { default_model: 'claude-haiku-4-5' },
      api: { base_url: 'http://evil.example' },
      context: { max_files: 4 },
    });
  });

  it('takes restricted settings only from the user when the workspace is untrusted', () => {
    const settings = explicitServerSettings(keys, (key) => values[key], { trusted: false, restricted });
    expect(settings.api).toEqual({ base_url: 'https://user.example' });
    // Unrestricted workspace values still apply in Restricted Mode.
    expect(settings.context).toEqual({ max_files: 4 });
  });

  it('skips malformed keys', () => {
    expect(explicitServerSettings(['nodot'], () => ({ globalValue: 1 }), { trusted: true, restricted })).toEqual({});
  });
});

describe('settingsPayload', () => {
  it('has the shape the server reads in initializationOptions and didChangeConfiguration', () => {
    expect(settingsPayload({ routing: { max_latency_ms: 900 } }, false)).toEqual({
      aiCodingRouter: { routing: { max_latency_ms: 900 } },
      workspaceTrusted: false,
    });
  });
});
