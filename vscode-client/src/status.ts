// What the status bar item says. Pure: state in, text out. The numbers come from the server as they
// are; the client only formats them.

import { ClientCommand, type CostSummary } from './protocol';

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusState {
  server: ServerState;
  lastModel: string | null;
  runningJobs: number;
  /** Undefined until the first costSummary answer (or when the server does not offer it). */
  cost: CostSummary | undefined;
  workspaceTrusted: boolean;
}

export interface StatusView {
  text: string;
  /** Markdown. */
  tooltip: string;
  /** Plain text for screen readers. */
  accessibilityLabel: string;
  command: string;
  isError: boolean;
}

export const INITIAL_STATUS: StatusState = {
  server: 'starting',
  lastModel: null,
  runningJobs: 0,
  cost: undefined,
  workspaceTrusted: true,
};

export function formatCost(dollars: number): string {
  if (dollars > 0 && dollars < 0.01) {
    return `$${dollars.toFixed(4)}`;
  }
  return `$${dollars.toFixed(2)}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function formatStatus(state: StatusState): StatusView {
  const name = 'AI Coding Router';
  if (state.server === 'starting') {
    return {
      text: '$(loading~spin) AI Router',
      tooltip: `**${name}**: starting the server…`,
      accessibilityLabel: `${name}: starting`,
      command: ClientCommand.showOutput,
      isError: false,
    };
  }
  if (state.server === 'failed' || state.server === 'stopped') {
    const what = state.server === 'failed' ? 'the server failed to start' : 'the server is not running';
    return {
      text: '$(error) AI Router',
      tooltip: `**${name}**: ${what}. Click to restart it; see the output channel for details.`,
      accessibilityLabel: `${name}: ${what}`,
      command: ClientCommand.restartServer,
      isError: state.server === 'failed',
    };
  }
  const model = state.lastModel ?? 'no requests yet';
  const parts = [`$(sparkle) ${model}`];
  if (state.runningJobs > 0) {
    parts.push(`$(sync~spin) ${plural(state.runningJobs, 'job')}`);
  }
  if (state.cost !== undefined) {
    parts.push(formatCost(state.cost.today.cost));
  }
  const lines = [
    `**${name}**`,
    '',
    `Last request: ${state.lastModel === null ? 'none yet' : `\`${state.lastModel}\``}`,
    '',
    `Running jobs: ${state.runningJobs}`,
  ];
  if (state.cost !== undefined) {
    const { today, month } = state.cost;
    lines.push(
      '',
      `Today: ${formatCost(today.cost)} (${plural(today.calls, 'call')})`,
      '',
      `This month: ${formatCost(month.cost)} (${plural(month.calls, 'call')})`,
    );
  }
  if (!state.workspaceTrusted) {
    lines.push('', 'Restricted Mode: workspace tests are never run.');
  }
  lines.push('', 'Click for the cost report.');
  const costLabel = state.cost === undefined ? '' : `, ${formatCost(state.cost.today.cost)} today`;
  return {
    text: parts.join('  '),
    tooltip: lines.join('\n'),
    accessibilityLabel: `${name}: last model ${model}, ${plural(state.runningJobs, 'running job')}${costLabel}`,
    command: ClientCommand.showCostReport,
    isError: false,
  };
}
