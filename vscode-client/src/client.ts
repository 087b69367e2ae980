// The language client's life cycle: start `ai-coding-router serve` over stdio, keep the server's
// settings in step with VS Code's, and turn start failures into one clear message.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  describeLaunch,
  findExecutable,
  missingCommandMessage,
  readLaunchSettings,
  resolveLaunch,
  startFailedMessage,
  type Launch,
} from './launch';
import { StatusNotificationMethod, parseStatus, type LspRange, type StatusParams } from './protocol';
import {
  SETTINGS_PREFIX,
  explicitServerSettings,
  settingsPayload,
  type ManifestSettings,
  type SettingsPayload,
} from './settings';
import type { ServerState } from './status';

export const DOCUMENT_SELECTOR = ['typescript', 'typescriptreact', 'javascript', 'javascriptreact'].map(
  (language) => ({ scheme: 'file', language }),
);

const START_FAILURE = "couldn't create connection to server.";

/** vscode-languageclient pops up a generic "couldn't create connection" error; we show a better one. */
class RouterLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, message.endsWith(START_FAILURE) ? false : showNotification);
  }
}

export interface RouterClientEvents {
  onState(state: ServerState): void;
  onStatus(params: StatusParams): void;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export class RouterClient implements vscode.Disposable {
  private client: RouterLanguageClient | undefined;
  private launch: Launch | undefined;
  /** Whether the current server process ever finished `initialize`: crashes after that restart it. */
  private reachedRunning = false;
  /** The current server never came up: later "stopped" transitions must not hide that. */
  private startFailed = false;
  private defaultErrorHandler: ErrorHandler | undefined;

  constructor(
    private readonly manifest: ManifestSettings,
    private readonly output: vscode.LogOutputChannel,
    private readonly events: RouterClientEvents,
  ) {}

  get isRunning(): boolean {
    return this.client?.state === State.Running;
  }

  /** The launch the current settings ask for (used to tell whether a restart is needed). */
  currentLaunch(): Launch {
    const config = vscode.workspace.getConfiguration(SETTINGS_PREFIX);
    return resolveLaunch(readLaunchSettings((key) => config.get(key)), {
      home: os.homedir(),
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    });
  }

  get startedLaunch(): Launch | undefined {
    return this.launch;
  }

  /** The payload for the server, from what the user set explicitly and the workspace trust. */
  settingsPayload(): SettingsPayload {
    const config = vscode.workspace.getConfiguration(SETTINGS_PREFIX);
    const trusted = vscode.workspace.isTrusted;
    const settings = explicitServerSettings(this.manifest.serverKeys, (key) => config.inspect(key), {
      trusted,
      restricted: this.manifest.restricted,
    });
    return settingsPayload(settings, trusted);
  }

  async start(): Promise<boolean> {
    if (this.client !== undefined) {
      await this.stop();
    }
    const launch = this.currentLaunch();
    this.launch = launch;
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const found = findExecutable(launch.command, {
      pathEnv: process.env.PATH,
      cwd,
      platform: process.platform,
      pathExt: process.env.PATHEXT,
      isExecutable: isExecutableFile,
    });
    if (found === undefined) {
      this.output.error(`Server command not found: ${launch.command} (PATH=${process.env.PATH ?? ''})`);
      this.events.onState('failed');
      void this.showStartError(missingCommandMessage(launch));
      return false;
    }
    this.output.info(`Starting the server: ${describeLaunch(launch)}${cwd ? ` (in ${cwd})` : ''}`);
    const client = this.createClient(launch, cwd);
    this.client = client;
    this.reachedRunning = false;
    this.startFailed = false;
    this.events.onState('starting');
    let failed = false;
    let failure: unknown;
    try {
      await client.start();
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (this.client !== client) {
      return false; // superseded by a restart
    }
    // When the process dies during initialize, start() can resolve without a running client.
    if (failed || client.state !== State.Running) {
      const reason = failed ? failure : new Error('the server exited during start-up; see the output');
      this.output.error(`The server failed to start: ${String(reason)}`);
      this.startFailed = true;
      this.events.onState('failed');
      void this.showStartError(startFailedMessage(launch, reason));
      return false;
    }
    const info = client.initializeResult?.serverInfo;
    this.output.info(`Server ready${info ? `: ${info.name} ${info.version ?? ''}`.trimEnd() : ''}`);
    return true;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      if (client.needsStop()) {
        await client.stop(5000);
      }
    } catch (error) {
      this.output.warn(`Stopping the server: ${String(error)}`);
    }
    await client.dispose().catch(() => undefined);
    this.events.onState('stopped');
  }

  async restart(): Promise<boolean> {
    await this.stop();
    return this.start();
  }

  /** Push the current settings (and trust) to the server. */
  async sendSettings(): Promise<void> {
    const client = this.client;
    if (client?.state !== State.Running) {
      return; // a server that starts later gets them as initializationOptions
    }
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: this.settingsPayload() });
  }

  /** `workspace/executeCommand`: runTask/cancelJob/applyJob take one object, listJobs/costReport none. */
  async executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    const client = this.requireRunning();
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  async request(method: string, params?: unknown): Promise<unknown> {
    const client = this.requireRunning();
    return client.sendRequest(method, params);
  }

  /** The URI and range of an editor selection as the server sees them. */
  toProtocol(document: vscode.TextDocument, range: vscode.Range): { uri: string; range: LspRange } {
    const client = this.requireRunning();
    return {
      uri: client.code2ProtocolConverter.asUri(document.uri),
      range: client.code2ProtocolConverter.asRange(range),
    };
  }

  dispose(): void {
    void this.stop();
  }

  private requireRunning(): LanguageClient {
    if (this.client?.state !== State.Running) {
      throw new ServerNotRunningError();
    }
    return this.client;
  }

  private createClient(launch: Launch, cwd: string | undefined): RouterLanguageClient {
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      options: cwd === undefined ? { env: process.env } : { cwd, env: process.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.output,
      traceOutputChannel: this.output,
      // A function, so a restart sends the settings of that moment.
      initializationOptions: () => this.settingsPayload(),
      // Settings changes are pushed by extension.ts (onDidChangeConfiguration → sendSettings). Should the
      // server register didChangeConfiguration dynamically, the library's own payload (every value,
      // defaults included, or null) is replaced with ours.
      middleware: {
        workspace: {
          didChangeConfiguration: async () => this.sendSettings(),
        },
      },
      errorHandler: this.errorHandler(),
      initializationFailedHandler: (error) => {
        this.output.error(`Server initialization failed: ${String(error)}`);
        return false;
      },
    };
    const client = new RouterLanguageClient(SETTINGS_PREFIX, 'AI Coding Router', serverOptions, clientOptions);
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Running) {
        this.reachedRunning = true;
        this.events.onState('running');
      } else if (event.newState === State.Starting) {
        this.events.onState('starting');
      } else if (event.newState === State.StartFailed) {
        this.startFailed = true;
        this.events.onState('failed');
      } else if (!this.startFailed) {
        this.events.onState('stopped');
      }
    });
    client.onNotification(StatusNotificationMethod, (params: unknown) => {
      try {
        this.events.onStatus(parseStatus(params));
      } catch (error) {
        this.output.warn(String(error));
      }
    });
    this.defaultErrorHandler = client.createDefaultErrorHandler(4);
    return client;
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (error, message, count): ErrorHandlerResult | Promise<ErrorHandlerResult> => {
        // Before the server is up, a write error (EPIPE) just means it died: closed() follows, and
        // start() reports the failure once.
        if (!this.reachedRunning || this.defaultErrorHandler === undefined) {
          return { action: ErrorAction.Continue, handled: true };
        }
        return this.defaultErrorHandler.error(error, message, count);
      },
      closed: (): CloseHandlerResult | Promise<CloseHandlerResult> => {
        // A server that dies before answering initialize is not restarted in a loop: start() reports it.
        if (!this.reachedRunning || this.defaultErrorHandler === undefined) {
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        return this.defaultErrorHandler.closed();
      },
    };
  }

  private async showStartError(message: string): Promise<void> {
    const openOutput = 'Open Output';
    const openSettings = 'Open Settings';
    const choice = await vscode.window.showErrorMessage(message, openOutput, openSettings);
    if (choice === openOutput) {
      this.output.show(true);
    } else if (choice === openSettings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SETTINGS_PREFIX}.server`);
    }
  }
}

export class ServerNotRunningError extends Error {
  constructor() {
    super('The AI Coding Router server is not running.');
    this.name = 'ServerNotRunningError';
  }
}
