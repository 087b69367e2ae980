// The wire contract with the ai-coding-router server: method and command names, payload types, and
// defensive parsers for what the server sends back (a wrong shape becomes one clear ProtocolError
// instead of an `undefined` deep inside a quick pick). No vscode import: unit-tested directly.

/** Commands the server registers; vscode-languageclient also registers VS Code commands under these ids. */
export const ServerCommand = {
  runTask: 'aiCodingRouter.runTask',
  cancelJob: 'aiCodingRouter.cancelJob',
  listJobs: 'aiCodingRouter.listJobs',
  applyJob: 'aiCodingRouter.applyJob',
  costReport: 'aiCodingRouter.costReport',
} as const;

/** Our own commands. Their ids must differ from the server's or registration would clash. */
export const ClientCommand = {
  runTaskOnSelection: 'aiCodingRouter.runTaskOnSelection',
  cancelJob: 'aiCodingRouter.client.cancelJob',
  applyJob: 'aiCodingRouter.client.applyJob',
  showCostReport: 'aiCodingRouter.showCostReport',
  restartServer: 'aiCodingRouter.restartServer',
  showOutput: 'aiCodingRouter.showOutput',
} as const;

export const StatusNotificationMethod = 'aiCodingRouter/status';
export const CostSummaryRequestMethod = 'aiCodingRouter/costSummary';

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export type TaskKind = 'refactor' | 'tests' | 'security-review' | 'explain' | 'fix';

/** The one argument of `aiCodingRouter.runTask`. */
export interface RunTaskArgs {
  uri: string;
  range: LspRange;
  kind: TaskKind;
  instruction?: string;
}

export type JobId = string | number;

export interface Route {
  model: string;
  score: number;
  reasons: string[];
}

export interface RunTaskResult {
  jobId: JobId;
  route: Route;
}

export interface JobInfo {
  jobId: JobId;
  kind: string;
  state: string;
  uri: string;
  createdAt: string | number | null;
  summary: string;
}

export interface StatusParams {
  lastModel: string | null;
  runningJobs: number;
}

export interface CostTotals {
  cost: number;
  calls: number;
}

export interface CostSummary {
  today: CostTotals;
  month: CostTotals;
}

export class ProtocolError extends Error {
  constructor(what: string, value: unknown) {
    super(`Unexpected ${what} from the ai-coding-router server: ${preview(value)}`);
    this.name = 'ProtocolError';
  }
}

function preview(value: unknown): string {
  let text: string;
  try {
    // JSON.stringify returns undefined for these, whatever its declared type says.
    const unserializable = value === undefined || typeof value === 'function' || typeof value === 'symbol';
    text = unserializable ? String(value) : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJobId(value: unknown): value is JobId {
  return (typeof value === 'string' && value.length > 0) || (typeof value === 'number' && Number.isFinite(value));
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function parseRunTaskResult(value: unknown): RunTaskResult {
  if (!isRecord(value) || !isJobId(value.jobId) || !isRecord(value.route)) {
    throw new ProtocolError('runTask result', value);
  }
  const { model, score, reasons } = value.route;
  if (typeof model !== 'string' || !isFiniteNumber(score)) {
    throw new ProtocolError('runTask route', value.route);
  }
  const reasonList = Array.isArray(reasons) ? reasons.filter((r): r is string => typeof r === 'string') : [];
  return { jobId: value.jobId, route: { model, score, reasons: reasonList } };
}

function parseJob(value: unknown): JobInfo {
  if (!isRecord(value) || !isJobId(value.jobId) || typeof value.state !== 'string') {
    throw new ProtocolError('job', value);
  }
  const createdAt = value.createdAt;
  return {
    jobId: value.jobId,
    kind: typeof value.kind === 'string' ? value.kind : 'task',
    state: value.state,
    uri: typeof value.uri === 'string' ? value.uri : '',
    createdAt: typeof createdAt === 'string' || isFiniteNumber(createdAt) ? createdAt : null,
    summary: typeof value.summary === 'string' ? value.summary : '',
  };
}

export function parseJobs(value: unknown): JobInfo[] {
  // Accept a bare list (the documented shape) or {"jobs": [...]}.
  const list = isRecord(value) && Array.isArray(value.jobs) ? value.jobs : value;
  if (!Array.isArray(list)) {
    throw new ProtocolError('listJobs result', value);
  }
  return list.map(parseJob);
}

export function parseStatus(value: unknown): StatusParams {
  if (!isRecord(value)) {
    throw new ProtocolError('status notification', value);
  }
  const { lastModel, runningJobs } = value;
  if (!(lastModel === null || lastModel === undefined || typeof lastModel === 'string')) {
    throw new ProtocolError('status lastModel', lastModel);
  }
  if (!isFiniteNumber(runningJobs) || runningJobs < 0) {
    throw new ProtocolError('status runningJobs', runningJobs);
  }
  return { lastModel: lastModel ?? null, runningJobs: Math.floor(runningJobs) };
}

function parseTotals(value: unknown, what: string): CostTotals {
  if (!isRecord(value) || !isFiniteNumber(value.cost) || !isFiniteNumber(value.calls)) {
    throw new ProtocolError(what, value);
  }
  return { cost: value.cost, calls: value.calls };
}

export function parseCostSummary(value: unknown): CostSummary {
  if (!isRecord(value)) {
    throw new ProtocolError('costSummary result', value);
  }
  return { today: parseTotals(value.today, 'costSummary today'), month: parseTotals(value.month, 'costSummary month') };
}

export function parseCostReport(value: unknown): string {
  if (isRecord(value) && typeof value.text === 'string') {
    return value.text;
  }
  throw new ProtocolError('costReport result', value);
}
