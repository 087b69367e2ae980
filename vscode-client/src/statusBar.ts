// The status bar item: last model, running jobs (pushed by the server) and today's cost (pulled with
// aiCodingRouter/costSummary on every status notification and once a minute).

import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { parseCostSummary, type StatusParams } from './protocol';
import { INITIAL_STATUS, formatStatus, type ServerState, type StatusState } from './status';

export const COST_REFRESH_MS = 60_000;
const METHOD_NOT_FOUND = -32601;

export class StatusBar implements vscode.Disposable {
  private state: StatusState;
  private readonly item: vscode.StatusBarItem;
  private readonly timer: ReturnType<typeof setInterval>;
  private costInFlight = false;
  private costUnsupported = false;

  constructor(
    private readonly fetchCostSummary: () => Promise<unknown>,
    private readonly output: vscode.LogOutputChannel,
    workspaceTrusted: boolean,
  ) {
    this.state = { ...INITIAL_STATUS, workspaceTrusted };
    this.item = vscode.window.createStatusBarItem('aiCodingRouter.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'AI Coding Router';
    this.render();
    this.item.show();
    this.timer = setInterval(() => void this.refreshCost(), COST_REFRESH_MS);
  }

  setServerState(server: ServerState): void {
    const wasRunning = this.state.server === 'running';
    this.state = { ...this.state, server };
    if (server === 'running' && !wasRunning) {
      this.costUnsupported = false; // a restarted server may be a newer one
      void this.refreshCost();
    }
    this.render();
  }

  setWorkspaceTrusted(workspaceTrusted: boolean): void {
    this.state = { ...this.state, workspaceTrusted };
    this.render();
  }

  onStatus(params: StatusParams): void {
    this.state = { ...this.state, lastModel: params.lastModel, runningJobs: params.runningJobs };
    this.render();
    void this.refreshCost();
  }

  async refreshCost(): Promise<void> {
    if (this.state.server !== 'running' || this.costInFlight || this.costUnsupported) {
      return;
    }
    this.costInFlight = true;
    try {
      // Read the state after the await: a status notification may have changed it meanwhile.
      const cost = parseCostSummary(await this.fetchCostSummary());
      this.state = { ...this.state, cost };
      this.render();
    } catch (error) {
      if (error instanceof ResponseError && error.code === METHOD_NOT_FOUND) {
        this.costUnsupported = true;
        this.output.info('The server does not answer aiCodingRouter/costSummary; the status bar shows no cost.');
      } else {
        this.output.warn(`Cost summary: ${String(error)}`);
      }
    } finally {
      this.costInFlight = false;
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.item.dispose();
  }

  private render(): void {
    const view = formatStatus(this.state);
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.item.accessibilityInformation = { label: view.accessibilityLabel, role: 'button' };
    this.item.command = view.command;
    this.item.backgroundColor = view.isError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }
}
