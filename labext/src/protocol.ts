// The sidebar protocol, panel side: message types, request builders and a validator for what
// the kernel sends. The kernel side (py_src/lenslab/comm/protocol.py) is the source of truth;
// test/protocol.test.ts checks this file against the JSON Schema it exports
// (test/fixtures/protocol.schema.json), so the two cannot drift.

export const PROTOCOL_VERSION = 3;
export const COMM_TARGET = 'lenslab.sidebar';

export const PATCH_KINDS = [
  'resid_pre',
  'attn_out',
  'mlp_out',
  'block_every',
  'heads_all_pos',
  'heads_by_pos',
  'head_components_all_pos',
  'head_components_by_pos'
] as const;
export type PatchKind = (typeof PATCH_KINDS)[number];

export const METRICS = ['logit_diff', 'normalized_logit_diff', 'correct_logprob'] as const;
export type Metric = (typeof METRICS)[number];

export const JOB_STATUSES = ['queued', 'running', 'done', 'cancelled', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const ERROR_CODES = [
  'bad_message',
  'unsupported_version',
  'unknown_type',
  'unknown_model',
  'unknown_hook',
  'unknown_job',
  'no_result',
  'no_tokenizer',
  'invalid_job',
  'internal'
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

// ---- payloads ------------------------------------------------------------------------------

export interface PatchKindInfo {
  name: PatchKind;
  label: string;
  function: string;
}

export interface MetricInfo {
  name: Metric;
  label: string;
  needs_incorrect: boolean;
}

export interface ModelInfo {
  name: string;
  class_name: string;
  architecture: string;
  n_layers: number;
  n_heads: number;
  d_model: number;
  d_head: number;
  d_mlp: number | null;
  d_vocab: number;
  n_ctx: number;
  device: string;
  dtype: string;
  n_hooks: number;
  has_tokenizer: boolean;
  patch_kinds: PatchKind[];
}

export interface HookInfo {
  name: string;
  layer: number | null;
  component: string;
  shape: string[];
  description: string;
  /** Why the hook never fires with the model's current settings; null when it fires. */
  silent: string | null;
}

export interface TokenizedText {
  text: string;
  /** The first 4,096 tokens at most. */
  tokens: string[];
  /** How many tokens the text has (more than tokens.length when the reply was cut). */
  n_tokens: number;
}

export interface JobSpec {
  model: string;
  kind: PatchKind;
  metric: Metric;
  clean_prompt: string;
  corrupted_prompt: string;
  correct_answer: string;
  incorrect_answer: string;
}

export interface JobRecord {
  job_id: number;
  spec: JobSpec;
  status: JobStatus;
  done: number;
  total: number;
  elapsed_s: number | null;
  message: string | null;
}

// ---- requests: panel -> kernel ---------------------------------------------------------------

interface Envelope<T extends string> {
  v: typeof PROTOCOL_VERSION;
  type: T;
  id: string;
}

export type Hello = Envelope<'hello'>;
export type ListModels = Envelope<'list_models'>;
export type ListHooks = Envelope<'list_hooks'> & { model: string };
export type DescribeHook = Envelope<'describe_hook'> & { model: string; hook: string };
export type Tokenize = Envelope<'tokenize'> & { model: string; prompts: string[]; answers: string[] };
export type RunPatch = Envelope<'run_patch'> & { job: JobSpec };
export type Cancel = Envelope<'cancel'> & { job_id: number };
export type ListJobs = Envelope<'list_jobs'>;
export type GetResult = Envelope<'get_result'> & { job_id: number };

export type Request = Hello | ListModels | ListHooks | DescribeHook | Tokenize | RunPatch | Cancel | ListJobs | GetResult;
export type RequestType = Request['type'];
export const REQUEST_TYPES: readonly RequestType[] = [
  'hello',
  'list_models',
  'list_hooks',
  'describe_hook',
  'tokenize',
  'run_patch',
  'cancel',
  'list_jobs',
  'get_result'
];

/** The body of a request of type `T` (everything but v, type and id). */
export type RequestBody<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'v' | 'type' | 'id'>;

/** A request with the protocol version and type filled in. */
export function makeRequest<T extends RequestType>(type: T, id: string, body: RequestBody<T>): Extract<Request, { type: T }> {
  return { v: PROTOCOL_VERSION, type, id, ...body } as unknown as Extract<Request, { type: T }>;
}

// ---- kernel -> panel ----------------------------------------------------------------------------

export type Welcome = Envelope<'welcome'> & {
  protocol: number;
  lenslab_version: string;
  patch_kinds: PatchKindInfo[];
  metrics: MetricInfo[];
};
export type Models = Envelope<'models'> & { models: ModelInfo[] };
export type Hooks = Envelope<'hooks'> & { model: string; hooks: HookInfo[] };
export type HookDetail = Envelope<'hook_info'> & { model: string; hook: HookInfo; sizes: (number | null)[] };
export type Tokens = Envelope<'tokens'> & { model: string; n_ctx: number; prompts: TokenizedText[]; answers: TokenizedText[] };
export type JobStarted = Envelope<'job_started'> & { job: JobRecord; batch_size: number };
export type Progress = Envelope<'progress'> & { job_id: number; done: number; total: number };
export type Result = Envelope<'result'> & {
  job: JobRecord;
  shape: number[];
  values: (number | null)[];
  widget_model_id: string | null;
  code: string;
  clean_metric: number | null;
  corrupted_metric: number | null;
};
export type Cancelled = Envelope<'cancelled'> & { job_id: number; done: number; total: number };
export type JobFailed = Envelope<'job_failed'> & { job_id: number; error_type: string; message: string };
export type CancelAck = Envelope<'cancel_ack'> & { job_id: number };
export type Jobs = Envelope<'jobs'> & { jobs: JobRecord[] };
export type ErrorReply = Omit<Envelope<'error'>, 'id'> & {
  id: string | null;
  request_type: string | null;
  code: ErrorCode;
  message: string;
};

export type KernelMessage =
  | Welcome
  | Models
  | Hooks
  | HookDetail
  | Tokens
  | JobStarted
  | Progress
  | Result
  | Cancelled
  | JobFailed
  | CancelAck
  | Jobs
  | ErrorReply;
export type KernelMessageType = KernelMessage['type'];

// ---- validation of kernel messages --------------------------------------------------------------

/** A message that does not follow the protocol. */
export class ProtocolError extends Error {}

type Check = (value: unknown, path: string) => void;
/** An object check that also exposes its field checks (the tests compare them with the schema). */
export interface ObjectCheck extends Check {
  fields: Record<string, Check>;
}

function fail(path: string, what: string, value: unknown): never {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 60);
  throw new ProtocolError(`${path} must be ${what}, got ${shown}`);
}

const str: Check = (v, p) => {
  if (typeof v !== 'string') fail(p, 'a string', v);
};
const int: Check = (v, p) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(p, 'a non-negative integer', v);
};
const num: Check = (v, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, 'a number', v);
};
const bool: Check = (v, p) => {
  if (typeof v !== 'boolean') fail(p, 'a boolean', v);
};
const nullable =
  (inner: Check): Check =>
  (v, p) => {
    if (v !== null) inner(v, p);
  };
const oneOf =
  (choices: readonly string[]): Check =>
  (v, p) => {
    if (typeof v !== 'string' || !choices.includes(v)) fail(p, `one of ${choices.join(', ')}`, v);
  };
const arrayOf =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, 'an array', v);
    v.forEach((x, i) => item(x, `${p}[${i}]`));
  };

export function objectOf(fields: Record<string, Check>): ObjectCheck {
  const check = ((v: unknown, p: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'an object', v);
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!(key in fields)) throw new ProtocolError(`${p}.${key} is not a field of this message`);
    }
    for (const [key, field] of Object.entries(fields)) {
      if (!(key in obj)) throw new ProtocolError(`${p}.${key} is missing`);
      field(obj[key], `${p}.${key}`);
    }
  }) as ObjectCheck;
  check.fields = fields;
  return check;
}

const jobSpec = objectOf({
  model: str,
  kind: oneOf(PATCH_KINDS),
  metric: oneOf(METRICS),
  clean_prompt: str,
  corrupted_prompt: str,
  correct_answer: str,
  incorrect_answer: str
});

/** The field checks of the payload objects, by their name in the schema's $defs. */
export const PAYLOAD_CHECKS: Record<string, ObjectCheck> = {
  PatchKindInfo: objectOf({ name: oneOf(PATCH_KINDS), label: str, function: str }),
  MetricInfo: objectOf({ name: oneOf(METRICS), label: str, needs_incorrect: bool }),
  ModelInfo: objectOf({
    name: str,
    class_name: str,
    architecture: str,
    n_layers: int,
    n_heads: int,
    d_model: int,
    d_head: int,
    d_mlp: nullable(int),
    d_vocab: int,
    n_ctx: int,
    device: str,
    dtype: str,
    n_hooks: int,
    has_tokenizer: bool,
    patch_kinds: arrayOf(oneOf(PATCH_KINDS))
  }),
  HookInfo: objectOf({
    name: str,
    layer: nullable(int),
    component: str,
    shape: arrayOf(str),
    description: str,
    silent: nullable(str)
  }),
  TokenizedText: objectOf({ text: str, tokens: arrayOf(str), n_tokens: int }),
  JobSpec: jobSpec,
  JobRecord: objectOf({
    job_id: int,
    spec: jobSpec,
    status: oneOf(JOB_STATUSES),
    done: int,
    total: int,
    elapsed_s: nullable(num),
    message: nullable(str)
  })
};
const P = PAYLOAD_CHECKS;
const jobRecord = P.JobRecord;

const envelope = { v: (v: unknown, p: string) => (v === PROTOCOL_VERSION ? undefined : fail(p, `${PROTOCOL_VERSION}`, v)), type: str, id: str };

/** The field checks of every kernel message, by type. */
export const KERNEL_CHECKS: Record<KernelMessageType, ObjectCheck> = {
  welcome: objectOf({ ...envelope, protocol: int, lenslab_version: str, patch_kinds: arrayOf(P.PatchKindInfo), metrics: arrayOf(P.MetricInfo) }),
  models: objectOf({ ...envelope, models: arrayOf(P.ModelInfo) }),
  hooks: objectOf({ ...envelope, model: str, hooks: arrayOf(P.HookInfo) }),
  hook_info: objectOf({ ...envelope, model: str, hook: P.HookInfo, sizes: arrayOf(nullable(int)) }),
  tokens: objectOf({ ...envelope, model: str, n_ctx: int, prompts: arrayOf(P.TokenizedText), answers: arrayOf(P.TokenizedText) }),
  job_started: objectOf({ ...envelope, job: jobRecord, batch_size: int }),
  progress: objectOf({ ...envelope, job_id: int, done: int, total: int }),
  result: objectOf({
    ...envelope,
    job: jobRecord,
    shape: arrayOf(int),
    values: arrayOf(nullable(num)),
    widget_model_id: nullable(str),
    code: str,
    clean_metric: nullable(num),
    corrupted_metric: nullable(num)
  }),
  cancelled: objectOf({ ...envelope, job_id: int, done: int, total: int }),
  job_failed: objectOf({ ...envelope, job_id: int, error_type: str, message: str }),
  cancel_ack: objectOf({ ...envelope, job_id: int }),
  jobs: objectOf({ ...envelope, jobs: arrayOf(jobRecord) }),
  error: objectOf({ ...envelope, id: nullable(str), request_type: nullable(str), code: oneOf(ERROR_CODES), message: str })
};

/** Checks a message from the kernel; throws ProtocolError naming the first problem. */
export function parseKernelMessage(data: unknown): KernelMessage {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProtocolError('a kernel message must be an object');
  }
  const raw = data as Record<string, unknown>;
  if (raw.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(`the kernel speaks protocol version ${JSON.stringify(raw.v)}, this panel version ${PROTOCOL_VERSION}`);
  }
  const check = KERNEL_CHECKS[raw.type as KernelMessageType];
  if (typeof raw.type !== 'string' || check === undefined) {
    throw new ProtocolError(`unknown kernel message type ${JSON.stringify(raw.type)}`);
  }
  check(raw, raw.type);
  return raw as unknown as KernelMessage;
}
