// Entry point: wires the output channel, the language client, the status bar and the commands.

import * as vscode from 'vscode';
import { RouterClient } from './client';
import { registerCommands } from './commands';
import { describeLaunch } from './launch';
import { CostSummaryRequestMethod } from './protocol';
import { SETTINGS_PREFIX, readManifest } from './settings';
import { StatusBar } from './statusBar';

let routerClient: RouterClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('AI Coding Router', { log: true });
  const manifest = readManifest(context.extension.packageJSON);

  // The status bar asks the client for costs; the client reports state to the status bar. The closure
  // below runs only once the server is up, after `client` exists.
  const statusBar = new StatusBar(
    () => client.request(CostSummaryRequestMethod, {}),
    output,
    vscode.workspace.isTrusted,
  );
  const client = new RouterClient(manifest, output, {
    onState: (state) => {
      statusBar.setServerState(state);
    },
    onStatus: (params) => {
      statusBar.onStatus(params);
    },
  });
  routerClient = client;

  context.subscriptions.push(
    output,
    statusBar,
    client,
    ...registerCommands({ client, output, refreshStatus: () => void statusBar.refreshCost() }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.info('Workspace trusted: telling the server (workspaceTrusted: true)');
      statusBar.setWorkspaceTrusted(true);
      void client.sendSettings();
      void offerRestartIfLaunchChanged(client, 'Workspace settings for the server now apply.');
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(SETTINGS_PREFIX)) {
        return;
      }
      void client.sendSettings();
      // The launch command cannot change under a running server: offer a restart.
      if (event.affectsConfiguration(`${SETTINGS_PREFIX}.server`)) {
        void offerRestartIfLaunchChanged(client, 'The server command changed.');
      }
    }),
  );

  if (!vscode.workspace.isTrusted) {
    output.info('Restricted Mode: the server is told workspaceTrusted: false and never runs tests.');
  }
  await client.start();
}

async function offerRestartIfLaunchChanged(client: RouterClient, why: string): Promise<void> {
  const started = client.startedLaunch;
  const wanted = client.currentLaunch();
  if (started !== undefined && describeLaunch(started) === describeLaunch(wanted) && client.isRunning) {
    return;
  }
  const restart = 'Restart Server';
  const choice = await vscode.window.showInformationMessage(`AI Coding Router: ${why} Restart the server?`, restart);
  if (choice === restart) {
    await client.restart();
  }
}

export async function deactivate(): Promise<void> {
  await routerClient?.stop();
  routerClient = undefined;
}
