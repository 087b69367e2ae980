import { describe, expect, it } from 'vitest';
import {
  ProtocolError,
  parseCostReport,
  parseCostSummary,
  parseJobs,
  parseRunTaskResult,
  parseStatus,
} from '../src/protocol';

describe('parseRunTaskResult', () => {
  it('reads a route', () => {
    const result = parseRunTaskResult({ jobId: 'j1', route: { model: 'm', score: 0.5, reasons: ['a', 3] } });
    expect(result).toEqual({ jobId: 'j1', route: { model: 'm', score: 0.5, reasons: ['a'] } });
  });

  it('rejects a missing route or job id', () => {
    expect(() => parseRunTaskResult({ jobId: 'j1' })).toThrow(ProtocolError);
    expect(() => parseRunTaskResult({ route: { model: 'm', score: 1 } })).toThrow(/runTask result/);
    expect(() => parseRunTaskResult({ jobId: '', route: { model: 'm', score: 1 } })).toThrow(ProtocolError);
    expect(() => parseRunTaskResult({ jobId: 1, route: { model: 'm', score: 'high' } })).toThrow(/route/);
  });
});

describe('parseJobs', () => {
  it('reads a list, filling optional fields', () => {
    expect(parseJobs([{ jobId: 3, state: 'running' }])).toEqual([
      { jobId: 3, kind: 'task', state: 'running', uri: '', createdAt: null, summary: '' },
    ]);
    const full = { jobId: 'a', kind: 'tests', state: 'done', uri: 'file:///x.ts', createdAt: '2026-01-01', summary: 's' };
    expect(parseJobs({ jobs: [full] })).toEqual([full]);
  });

  it('rejects a job without a state', () => {
    expect(() => parseJobs([{ jobId: 'a' }])).toThrow(/job/);
    expect(() => parseJobs('nope')).toThrow(/listJobs/);
  });
});

describe('parseStatus', () => {
  it('reads the notification', () => {
    expect(parseStatus({ lastModel: 'claude-sonnet-4-6', runningJobs: 2 })).toEqual({ lastModel: 'claude-sonnet-4-6', runningJobs: 2 });
    expect(parseStatus({ lastModel: null, runningJobs: 0 })).toEqual({ lastModel: null, runningJobs: 0 });
  });

  it('rejects wrong types and negative counts', () => {
    expect(() => parseStatus({ lastModel: 3, runningJobs: 0 })).toThrow(ProtocolError);
    expect(() => parseStatus({ lastModel: null, runningJobs: -1 })).toThrow(ProtocolError);
    expect(() => parseStatus(null)).toThrow(ProtocolError);
  });
});

describe('parseCostSummary and parseCostReport', () => {
  it('reads totals and report text', () => {
    const summary = { today: { cost: 0.1, calls: 2 }, month: { cost: 1.5, calls: 9 } };
    expect(parseCostSummary(summary)).toEqual(summary);
    expect(parseCostReport({ text: 'report' })).toBe('report');
  });

  it('rejects a summary without month, or a report without text', () => {
    expect(() => parseCostSummary({ today: { cost: 0.1, calls: 2 } })).toThrow(/month/);
    expect(() => parseCostReport({ report: 'x' })).toThrow(/costReport/);
  });

  it('keeps error messages short', () => {
    const error = (() => {
      try {
        parseCostReport({ big: 'x'.repeat(1000) });
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error?.message.length).toBeLessThan(300);
  });
});
