// Background tasks as the user picks them: task kinds, the runTask argument, which jobs can be
// cancelled or applied, and how they read in a quick pick. Pure.

import type { JobInfo, LspRange, RunTaskArgs, RunTaskResult, TaskKind } from './protocol';

export interface TaskKindChoice {
  kind: TaskKind;
  label: string;
  detail: string;
}

export const TASK_KINDS: readonly TaskKindChoice[] = [
  { kind: 'refactor', label: 'Refactor', detail: 'Rewrite the selection; the edit is validated before it is applied.' },
  { kind: 'tests', label: 'Generate tests', detail: 'Write tests for the selected code.' },
  { kind: 'security-review', label: 'Security review', detail: 'Review the selection for security problems.' },
  { kind: 'explain', label: 'Explain', detail: 'Explain what the selected code does.' },
  { kind: 'fix', label: 'Fix', detail: 'Fix the problems in the selection.' },
];

const KIND_SET: ReadonlySet<string> = new Set(TASK_KINDS.map((choice) => choice.kind));

export function isTaskKind(value: unknown): value is TaskKind {
  return typeof value === 'string' && KIND_SET.has(value);
}

/** States in which a job can still be cancelled. */
export const ACTIVE_STATES: ReadonlySet<string> = new Set(['running', 'queued']);

/** Final states that leave nothing to apply. */
export const UNAPPLICABLE_STATES: ReadonlySet<string> = new Set([
  'failed',
  'error',
  'cancelled',
  'canceled',
  'timed_out',
  'timeout',
]);

export function buildRunTaskArgs(uri: string, range: LspRange, kind: TaskKind, instruction?: string): RunTaskArgs {
  const args: RunTaskArgs = { uri, range, kind };
  const trimmed = instruction?.trim();
  if (trimmed) {
    args.instruction = trimmed;
  }
  return args;
}

export function cancellableJobs(jobs: readonly JobInfo[]): JobInfo[] {
  return jobs.filter((job) => ACTIVE_STATES.has(job.state));
}

/** Jobs that finished with a result, whatever the server calls that state. */
export function applicableJobs(jobs: readonly JobInfo[]): JobInfo[] {
  return jobs.filter((job) => !ACTIVE_STATES.has(job.state) && !UNAPPLICABLE_STATES.has(job.state));
}

/** createdAt as epoch milliseconds: ISO strings, or epoch seconds / milliseconds. */
export function createdAtMs(createdAt: JobInfo['createdAt']): number | undefined {
  if (typeof createdAt === 'number') {
    return createdAt < 1e11 ? createdAt * 1000 : createdAt;
  }
  if (typeof createdAt === 'string') {
    const ms = Date.parse(createdAt);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export function formatAge(createdAt: JobInfo['createdAt'], nowMs: number): string {
  const ms = createdAtMs(createdAt);
  if (ms === undefined) {
    return '';
  }
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 60) {
    return 'just now';
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.round(minutes / 60);
  if (hours < 48) {
    return `${hours} h ago`;
  }
  return `${Math.round(hours / 24)} days ago`;
}

/** The last path segment of a URI, decoded: enough to recognise the file in a pick list. */
export function fileLabel(uri: string): string {
  const withoutQuery = uri.split(/[?#]/, 1)[0] ?? '';
  const last = withoutQuery.split('/').filter((part) => part !== '').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

export interface JobPickItem {
  label: string;
  description: string;
  detail: string;
  job: JobInfo;
}

export function jobPickItem(job: JobInfo, nowMs: number): JobPickItem {
  const where = fileLabel(job.uri);
  const age = formatAge(job.createdAt, nowMs);
  return {
    label: `${job.kind}${where ? ` · ${where}` : ''}`,
    description: [job.state, age].filter((part) => part !== '').join(' · '),
    detail: job.summary || `job ${String(job.jobId)}`,
    job,
  };
}

export function formatRouteMessage(kind: TaskKind, result: RunTaskResult): string {
  const { model, score, reasons } = result.route;
  const why = reasons.length > 0 ? ` Why: ${reasons.join('; ')}` : '';
  return `AI Coding Router: ${kind} job ${String(result.jobId)} started on ${model} (score ${score.toFixed(2)}).${why}`;
}
