// Checks package.json against the code: commands, menus, trust and settings stay consistent.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClientCommand, ServerCommand } from '../src/protocol';
import { readManifest } from '../src/settings';

interface Manifest {
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string; description: string; restrictedConfigurations: string[] } };
  contributes: {
    commands: { command: string; title: string }[];
    menus: Record<string, { command: string }[]>;
    configuration: { properties: Record<string, unknown> }[];
  };
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Manifest;
const properties = Object.assign({}, ...manifest.contributes.configuration.map((c) => c.properties)) as Record<string, unknown>;

describe('package.json', () => {
  it('contributes exactly our client commands, none named like a server command', () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    expect(contributed).toEqual(Object.values(ClientCommand).sort());
    const serverIds = new Set<string>(Object.values(ServerCommand));
    expect(contributed.filter((id) => serverIds.has(id))).toEqual([]);
  });

  it('only puts contributed commands in menus', () => {
    const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
    for (const entries of Object.values(manifest.contributes.menus)) {
      for (const entry of entries) {
        expect(contributed.has(entry.command)).toBe(true);
      }
    }
  });

  it('declares limited untrusted-workspace support with restricted settings that exist', () => {
    const trust = manifest.capabilities.untrustedWorkspaces;
    expect(trust.supported).toBe('limited');
    expect(trust.description.length).toBeGreaterThan(20);
    for (const id of trust.restrictedConfigurations) {
      expect(properties).toHaveProperty([id]);
    }
    expect(trust.restrictedConfigurations).toEqual(
      expect.arrayContaining(['aiCodingRouter.server.path', 'aiCodingRouter.server.pythonPath', 'aiCodingRouter.api.base_url']),
    );
  });

  it('has the client settings and finds every server section', () => {
    for (const id of ['aiCodingRouter.server.path', 'aiCodingRouter.server.args', 'aiCodingRouter.server.pythonPath', 'aiCodingRouter.trace.server']) {
      expect(properties).toHaveProperty([id]);
    }
    const sections = new Set(readManifest(manifest).serverKeys.map((key) => key.split('.')[0]));
    expect([...sections].sort()).toEqual(['api', 'completion', 'context', 'cost_tracking', 'routing', 'validation']);
  });

  it('activates on the four languages and bundles to out/extension.js', () => {
    for (const language of ['typescript', 'typescriptreact', 'javascript', 'javascriptreact']) {
      expect(manifest.activationEvents).toContain(`onLanguage:${language}`);
    }
    expect(manifest.main).toBe('./out/extension.js');
  });

  it('pins vscode-languageclient 10 and a TypeScript that typescript-eslint accepts', () => {
    expect(manifest.dependencies['vscode-languageclient']).toMatch(/^\^10\./);
    expect(manifest.devDependencies.typescript).toMatch(/^~(5\.9|6\.0)\./);
  });
});
