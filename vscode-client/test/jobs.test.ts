import { describe, expect, it } from 'vitest';
import {
  TASK_KINDS,
  applicableJobs,
  buildRunTaskArgs,
  cancellableJobs,
  createdAtMs,
  fileLabel,
  formatAge,
  formatRouteMessage,
  isTaskKind,
  jobPickItem,
} from '../src/jobs';
import type { JobInfo } from '../src/protocol';

const range = { start: { line: 1, character: 0 }, end: { line: 3, character: 4 } };

function job(jobId: string, state: string, extra: Partial<JobInfo> = {}): JobInfo {
  return { jobId, kind: 'refactor', state, uri: 'file:///w/src/a.ts', createdAt: null, summary: '', ...extra };
}

describe('task kinds', () => {
  it('offers exactly the kinds the server accepts', () => {
    expect(TASK_KINDS.map((choice) => choice.kind)).toEqual(['refactor', 'tests', 'security-review', 'explain', 'fix']);
    expect(isTaskKind('security-review')).toBe(true);
    expect(isTaskKind('architecture')).toBe(false);
    expect(isTaskKind(3)).toBe(false);
  });
});

describe('buildRunTaskArgs', () => {
  it('omits an empty instruction and trims a real one', () => {
    expect(buildRunTaskArgs('file:///a.ts', range, 'tests')).toEqual({ uri: 'file:///a.ts', range, kind: 'tests' });
    expect(buildRunTaskArgs('file:///a.ts', range, 'tests', '   ')).not.toHaveProperty('instruction');
    expect(buildRunTaskArgs('file:///a.ts', range, 'fix', ' keep it short ').instruction).toBe('keep it short');
  });
});

describe('job filters', () => {
  const jobs = [
    job('1', 'running'),
    job('2', 'queued'),
    job('3', 'succeeded'),
    job('4', 'failed'),
    job('5', 'cancelled'),
    job('6', 'held'),
  ];

  it('cancels only running and queued jobs', () => {
    expect(cancellableJobs(jobs).map((j) => j.jobId)).toEqual(['1', '2']);
  });

  it('applies finished jobs that have a result', () => {
    expect(applicableJobs(jobs).map((j) => j.jobId)).toEqual(['3', '6']);
  });
});

describe('ages and labels', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('reads ISO strings, epoch seconds and epoch milliseconds', () => {
    expect(createdAtMs('2026-11-25T11:00:00Z')).toBe(now - 3_600_000);
    expect(createdAtMs(now / 1000)).toBe(now);
    expect(createdAtMs(now)).toBe(now);
    expect(createdAtMs('yesterday-ish')).toBeUndefined();
    expect(createdAtMs(null)).toBeUndefined();
  });

  it('formats a relative age', () => {
    expect(formatAge('2026-11-25T11:59:30Z', now)).toBe('just now');
    expect(formatAge('2026-11-25T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-11-25T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAge('2026-11-20T12:00:00Z', now)).toBe('5 days ago');
    expect(formatAge(null, now)).toBe('');
  });

  it('names the file of a URI', () => {
    expect(fileLabel('file:///w/src/my%20file.ts')).toBe('my file.ts');
    expect(fileLabel('file:///w/a.ts?x=1')).toBe('a.ts');
    expect(fileLabel('')).toBe('');
  });

  it('builds a quick pick item', () => {
    const item = jobPickItem(job('7', 'running', { createdAt: '2026-11-25T11:58:00Z', summary: 'Extract parser' }), now);
    expect(item).toMatchObject({ label: 'refactor · a.ts', description: 'running · 2 min ago', detail: 'Extract parser' });
    expect(item.job.jobId).toBe('7');
    expect(jobPickItem(job('8', 'done', { uri: '' }), now)).toMatchObject({ label: 'refactor', detail: 'job 8' });
  });
});

describe('formatRouteMessage', () => {
  it('shows job, model, score and reasons', () => {
    const message = formatRouteMessage('refactor', {
      jobId: 42,
      route: { model: 'claude-opus-4-7', score: 0.8234, reasons: ['scope=multi-module (+0.3)', 'security (+0.2)'] },
    });
    expect(message).toBe(
      'AI Coding Router: refactor job 42 started on claude-opus-4-7 (score 0.82). Why: scope=multi-module (+0.3); security (+0.2)',
    );
    expect(formatRouteMessage('fix', { jobId: 'a', route: { model: 'm', score: 0, reasons: [] } })).not.toContain('Why');
  });
});
