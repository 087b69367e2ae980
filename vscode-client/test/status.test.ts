import { describe, expect, it } from 'vitest';
import { ClientCommand } from '../src/protocol';
import { INITIAL_STATUS, formatCost, formatStatus, type StatusState } from '../src/status';

const running: StatusState = { ...INITIAL_STATUS, server: 'running' };
const cost = { today: { cost: 0.4251, calls: 12 }, month: { cost: 7.5, calls: 1 } };

describe('formatCost', () => {
  it('shows cents, and more digits for fractions of a cent', () => {
    expect(formatCost(0)).toBe('$0.00');
    expect(formatCost(0.4251)).toBe('$0.43');
    expect(formatCost(12)).toBe('$12.00');
    expect(formatCost(0.00123)).toBe('$0.0012');
  });
});

describe('formatStatus', () => {
  it('shows the last model, running jobs and today\'s cost', () => {
    const view = formatStatus({ ...running, lastModel: 'claude-opus-4-7', runningJobs: 2, cost });
    expect(view.text).toBe('$(sparkle) claude-opus-4-7  $(sync~spin) 2 jobs  $0.43');
    expect(view.command).toBe(ClientCommand.showCostReport);
    expect(view.tooltip).toContain('Today: $0.43 (12 calls)');
    expect(view.tooltip).toContain('This month: $7.50 (1 call)');
    expect(view.accessibilityLabel).toBe('AI Coding Router: last model claude-opus-4-7, 2 running jobs, $0.43 today');
    expect(view.isError).toBe(false);
  });

  it('leaves out jobs when none run and cost until it is known', () => {
    const view = formatStatus({ ...running, runningJobs: 0 });
    expect(view.text).toBe('$(sparkle) no requests yet');
    expect(view.tooltip).toContain('Last request: none yet');
    expect(view.tooltip).not.toContain('Today');
  });

  it('says one job, not one jobs', () => {
    expect(formatStatus({ ...running, runningJobs: 1, lastModel: 'm' }).text).toBe('$(sparkle) m  $(sync~spin) 1 job');
  });

  it('mentions Restricted Mode', () => {
    expect(formatStatus({ ...running, workspaceTrusted: false }).tooltip).toContain('Restricted Mode');
    expect(formatStatus(running).tooltip).not.toContain('Restricted Mode');
  });

  it('offers a restart when the server failed or stopped', () => {
    const failed = formatStatus({ ...running, server: 'failed' });
    expect(failed.isError).toBe(true);
    expect(failed.command).toBe(ClientCommand.restartServer);
    expect(failed.text).toContain('$(error)');
    const stopped = formatStatus({ ...running, server: 'stopped' });
    expect(stopped.isError).toBe(false);
    expect(stopped.command).toBe(ClientCommand.restartServer);
  });

  it('spins while starting', () => {
    expect(formatStatus(INITIAL_STATUS).text).toContain('loading~spin');
  });
});
