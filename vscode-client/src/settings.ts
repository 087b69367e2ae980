// Turning VS Code settings into the server's configuration payloads. Pure: the extension passes in
// what `WorkspaceConfiguration.inspect()` returned, so this is tested without VS Code.
//
// Only values the user set explicitly are sent. The server layers its config as
// defaults < ai-coding-router.config.yaml < editor settings; sending VS Code's defaults too would
// silently override every key of the workspace's config file.

export const SETTINGS_PREFIX = 'aiCodingRouter';

/** Setting groups read by the client itself and never sent to the server. */
export const CLIENT_ONLY_SECTIONS: ReadonlySet<string> = new Set(['server', 'trace']);

export interface ManifestSettings {
  /** Server keys without the prefix, e.g. `routing.default_model`. */
  serverKeys: string[];
  /** Full setting ids that Restricted Mode must not take from the workspace. */
  restricted: ReadonlySet<string>;
}

/** What `WorkspaceConfiguration.inspect(key)` reports, minus the parts we do not use. */
export interface InspectedValue {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type ServerSettings = Record<string, Record<string, unknown>>;

export interface SettingsPayload {
  aiCodingRouter: ServerSettings;
  workspaceTrusted: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function configurationCategories(contributes: unknown): unknown[] {
  if (!isRecord(contributes)) {
    return [];
  }
  const configuration = contributes.configuration;
  if (Array.isArray(configuration)) {
    return configuration;
  }
  return configuration === undefined ? [] : [configuration];
}

/** Read our setting ids from the extension's own package.json, so the list lives in one place. */
export function readManifest(packageJson: unknown): ManifestSettings {
  const manifest = isRecord(packageJson) ? packageJson : {};
  const serverKeys: string[] = [];
  for (const category of configurationCategories(manifest.contributes)) {
    const properties = isRecord(category) && isRecord(category.properties) ? category.properties : {};
    for (const id of Object.keys(properties)) {
      const parts = id.split('.');
      if (parts.length === 3 && parts[0] === SETTINGS_PREFIX && !CLIENT_ONLY_SECTIONS.has(parts[1] ?? '')) {
        serverKeys.push(`${parts[1]}.${parts[2]}`);
      }
    }
  }
  const capabilities = isRecord(manifest.capabilities) ? manifest.capabilities : {};
  const untrusted = isRecord(capabilities.untrustedWorkspaces) ? capabilities.untrustedWorkspaces : {};
  const listed = Array.isArray(untrusted.restrictedConfigurations) ? untrusted.restrictedConfigurations : [];
  const restricted = new Set(listed.filter((id): id is string => typeof id === 'string'));
  return { serverKeys, restricted };
}

/** Objects merge key by key (as VS Code merges object settings across scopes); anything else replaces. */
export function mergeSettingValues(base: unknown, override: unknown): unknown {
  if (!isRecord(base) || !isRecord(override)) {
    return override;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = mergeSettingValues(merged[key], value);
  }
  return merged;
}

/**
 * The explicitly set value of one setting, or undefined when the user never set it.
 * In an untrusted workspace, restricted settings ignore the workspace's own values.
 */
export function explicitValue(inspected: InspectedValue | undefined, fromWorkspace: boolean): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  const layers = fromWorkspace
    ? [inspected.globalValue, inspected.workspaceValue, inspected.workspaceFolderValue]
    : [inspected.globalValue];
  let value: unknown = undefined;
  for (const layer of layers) {
    if (layer !== undefined) {
      value = value === undefined ? layer : mergeSettingValues(value, layer);
    }
  }
  return value;
}

export interface ExplicitSettingsOptions {
  trusted: boolean;
  restricted: ReadonlySet<string>;
}

/** `{section: {key: value}}` for every server setting the user set explicitly. */
export function explicitServerSettings(
  serverKeys: readonly string[],
  inspect: (key: string) => InspectedValue | undefined,
  options: ExplicitSettingsOptions,
): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of serverKeys) {
    const [section, name] = key.split('.');
    if (section === undefined || name === undefined) {
      continue;
    }
    const fromWorkspace = options.trusted || !options.restricted.has(`${SETTINGS_PREFIX}.${key}`);
    const value = explicitValue(inspect(key), fromWorkspace);
    if (value !== undefined) {
      (settings[section] ??= {})[name] = value;
    }
  }
  return settings;
}

/**
 * The server payload: `initializationOptions` at start-up, and the `settings` of every
 * `workspace/didChangeConfiguration` afterwards (the same shape, so the server parses one thing).
 */
export function settingsPayload(settings: ServerSettings, workspaceTrusted: boolean): SettingsPayload {
  return { aiCodingRouter: settings, workspaceTrusted };
}
