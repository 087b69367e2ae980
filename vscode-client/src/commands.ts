// The extension's own commands. Each one gathers input with VS Code UI, sends one request to the
// server, and shows the answer; the server decides everything else.

import * as vscode from 'vscode';
import { ServerNotRunningError, type RouterClient } from './client';
import { DOCUMENT_SELECTOR } from './client';
import {
  TASK_KINDS,
  applicableJobs,
  buildRunTaskArgs,
  cancellableJobs,
  formatRouteMessage,
  isTaskKind,
  jobPickItem,
  type JobPickItem,
} from './jobs';
import {
  ClientCommand,
  ServerCommand,
  parseCostReport,
  parseJobs,
  parseRunTaskResult,
  type JobId,
  type JobInfo,
  type TaskKind,
} from './protocol';

export interface CommandDeps {
  client: RouterClient;
  output: vscode.LogOutputChannel;
  /** Called after anything that changes jobs or cost, so the status bar does not wait a minute. */
  refreshStatus: () => void;
}

/** Optional arguments, e.g. from a keybinding: `{"kind": "explain", "instruction": "..."}`. */
interface RunTaskOptions {
  kind?: unknown;
  instruction?: unknown;
}

interface JobOptions {
  jobId?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const guarded =
    (name: string, run: (...args: unknown[]) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      try {
        await run(...args);
      } catch (error) {
        await reportFailure(deps, name, error);
      }
    };
  return [
    vscode.commands.registerCommand(
      ClientCommand.runTaskOnSelection,
      guarded('Run task', (options) => runTaskOnSelection(deps, isRecord(options) ? options : {})),
    ),
    vscode.commands.registerCommand(
      ClientCommand.cancelJob,
      guarded('Cancel job', (options) => cancelJob(deps, isRecord(options) ? options : {})),
    ),
    vscode.commands.registerCommand(
      ClientCommand.applyJob,
      guarded('Apply job', (options) => applyJob(deps, isRecord(options) ? options : {})),
    ),
    vscode.commands.registerCommand(ClientCommand.showCostReport, guarded('Cost report', () => showCostReport(deps))),
    vscode.commands.registerCommand(
      ClientCommand.restartServer,
      guarded('Restart', async () => {
        deps.output.info('Restarting the server (user request)');
        await deps.client.restart();
      }),
    ),
    vscode.commands.registerCommand(ClientCommand.showOutput, () => {
      deps.output.show(true);
    }),
  ];
}

async function reportFailure(deps: CommandDeps, name: string, error: unknown): Promise<void> {
  if (error instanceof ServerNotRunningError) {
    const restart = 'Restart Server';
    const choice = await vscode.window.showErrorMessage(`AI Coding Router: ${error.message}`, restart, 'Open Output');
    if (choice === restart) {
      await vscode.commands.executeCommand(ClientCommand.restartServer);
    } else if (choice !== undefined) {
      deps.output.show(true);
    }
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  deps.output.error(`${name} failed: ${message}`);
  const choice = await vscode.window.showErrorMessage(`AI Coding Router: ${name} failed: ${message}`, 'Open Output');
  if (choice !== undefined) {
    deps.output.show(true);
  }
}

function isServedDocument(document: vscode.TextDocument): boolean {
  return vscode.languages.match(DOCUMENT_SELECTOR, document) > 0;
}

async function pickTaskKind(): Promise<TaskKind | undefined> {
  const picked = await vscode.window.showQuickPick(
    TASK_KINDS.map((choice) => ({ label: choice.label, detail: choice.detail, taskKind: choice.kind })),
    { title: 'AI Coding Router: run a task on the selection', placeHolder: 'What should be done?' },
  );
  return picked?.taskKind;
}

async function runTaskOnSelection(deps: CommandDeps, options: RunTaskOptions): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || !isServedDocument(editor.document)) {
    void vscode.window.showWarningMessage(
      'AI Coding Router: open a TypeScript or JavaScript file and select the code to work on.',
    );
    return;
  }
  const selection = editor.selection;
  if (selection.isEmpty) {
    void vscode.window.showWarningMessage('AI Coding Router: select the code to work on first.');
    return;
  }
  const kind = isTaskKind(options.kind) ? options.kind : await pickTaskKind();
  if (kind === undefined) {
    return;
  }
  let instruction: string | undefined;
  if (typeof options.instruction === 'string') {
    instruction = options.instruction;
  } else if (options.kind === undefined) {
    instruction = await vscode.window.showInputBox({
      title: `AI Coding Router: ${kind}`,
      prompt: 'Optional instruction for the model (press Enter to skip)',
      placeHolder: 'e.g. keep the public API unchanged',
    });
    if (instruction === undefined) {
      return; // Escape cancels the whole command; Enter on an empty box means "no instruction".
    }
  }
  const { uri, range } = deps.client.toProtocol(editor.document, selection);
  const args = buildRunTaskArgs(uri, range, kind, instruction);
  deps.output.info(`runTask ${kind} on ${uri} ${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}`);
  const result = parseRunTaskResult(await deps.client.executeCommand(ServerCommand.runTask, args));
  const message = formatRouteMessage(kind, result);
  deps.output.info(message);
  deps.refreshStatus();
  void vscode.window.showInformationMessage(message);
}

async function listJobs(deps: CommandDeps): Promise<JobInfo[]> {
  return parseJobs(await deps.client.executeCommand(ServerCommand.listJobs));
}

async function pickJob(jobs: JobInfo[], title: string): Promise<JobId | undefined> {
  const now = Date.now();
  const picked = await vscode.window.showQuickPick<JobPickItem>(
    jobs.map((job) => jobPickItem(job, now)),
    { title, matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.job.jobId;
}

function explicitJobId(options: JobOptions): JobId | undefined {
  const id = options.jobId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

async function cancelJob(deps: CommandDeps, options: JobOptions): Promise<void> {
  let jobId = explicitJobId(options);
  if (jobId === undefined) {
    const jobs = cancellableJobs(await listJobs(deps));
    if (jobs.length === 0) {
      void vscode.window.showInformationMessage('AI Coding Router: no running or queued jobs.');
      return;
    }
    jobId = await pickJob(jobs, 'AI Coding Router: cancel a job');
    if (jobId === undefined) {
      return;
    }
  }
  await deps.client.executeCommand(ServerCommand.cancelJob, { jobId });
  deps.output.info(`Cancelled job ${String(jobId)}`);
  deps.refreshStatus();
  void vscode.window.showInformationMessage(`AI Coding Router: job ${String(jobId)} cancelled.`);
}

async function applyJob(deps: CommandDeps, options: JobOptions): Promise<void> {
  let jobId = explicitJobId(options);
  if (jobId === undefined) {
    const jobs = applicableJobs(await listJobs(deps));
    if (jobs.length === 0) {
      void vscode.window.showInformationMessage('AI Coding Router: no finished jobs to apply.');
      return;
    }
    jobId = await pickJob(jobs, 'AI Coding Router: apply a finished job');
    if (jobId === undefined) {
      return;
    }
  }
  // The server sends the edit with workspace/applyEdit; the answer only says it was handled.
  await deps.client.executeCommand(ServerCommand.applyJob, { jobId });
  deps.output.info(`Applied job ${String(jobId)}`);
  deps.refreshStatus();
}

async function showCostReport(deps: CommandDeps): Promise<void> {
  const text = parseCostReport(await deps.client.executeCommand(ServerCommand.costReport));
  const document = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
  await vscode.window.showTextDocument(document, { preview: true });
  deps.refreshStatus();
}
