// The sidebar protocol, panel side: message types, request builders and a validator for what
// the kernel sends. The kernel side (py_src/lenslab/comm/protocol.py) is the source of truth: it
// exports the protocol's JSON Schema (test/fixtures/protocol.schema.json), from which
// scripts/gen_protocol.mjs generates ./generated/protocol.ts (the message types) and
// ./generated/schema.ts (the schema, compiled here with ajv for the runtime checks).
// labext/test/generated.test.ts fails when the generated files are stale.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type * as wire from './generated/protocol';
import { PROTOCOL_SCHEMA } from './generated/schema';

export type {
  Cancel,
  CancelAck,
  Cancelled,
  DescribeHook,
  GetResult,
  Hello,
  HookDetail,
  HookInfo,
  Hooks,
  JobFailed,
  JobRecord,
  JobSpec,
  JobStarted,
  Jobs,
  KernelMessage,
  ListHooks,
  ListJobs,
  ListModels,
  MetricInfo,
  ModelInfo,
  Models,
  PatchKindInfo,
  Progress,
  Request,
  Result,
  RunPatch,
  TokenizedText,
  Tokenize,
  Tokens,
  Welcome
} from './generated/protocol';
export type ErrorReply = wire.Error;

const DEFS = PROTOCOL_SCHEMA.$defs;

export const PROTOCOL_VERSION = PROTOCOL_SCHEMA['x-protocol-version'];
export const COMM_TARGET = PROTOCOL_SCHEMA['x-comm-target'];

export const PATCH_KINDS = DEFS.JobSpec.properties.kind.enum;
export type PatchKind = wire.JobSpec['kind'];

export const METRICS = DEFS.JobSpec.properties.metric.enum;
export type Metric = wire.JobSpec['metric'];

export const JOB_STATUSES = DEFS.JobRecord.properties.status.enum;
export type JobStatus = wire.JobRecord['status'];

export const ERROR_CODES = DEFS.Error.properties.code.enum;
export type ErrorCode = wire.Error['code'];

// ---- requests: panel -> kernel ---------------------------------------------------------------

type Request = wire.Request;
export type RequestType = Request['type'];
type DefName = keyof typeof DEFS;
const defName = (ref: { $ref: string }): DefName => ref.$ref.slice('#/$defs/'.length) as DefName;
/** The wire type of a message definition (its `type` field's const). */
const wireType = (name: DefName): string => (DEFS[name] as { properties: { type: { const: string } } }).properties.type.const;

export const REQUEST_TYPES: readonly RequestType[] = PROTOCOL_SCHEMA.$defs.Request.oneOf.map((r) => wireType(defName(r)) as RequestType);

/** The body of a request of type `T` (everything but v, type and id). */
export type RequestBody<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'v' | 'type' | 'id'>;

/** A request with the protocol version and type filled in. */
export function makeRequest<T extends RequestType>(type: T, id: string, body: RequestBody<T>): Extract<Request, { type: T }> {
  return { v: PROTOCOL_VERSION, type, id, ...body } as unknown as Extract<Request, { type: T }>;
}

// ---- kernel -> panel ----------------------------------------------------------------------------

type KernelMessage = wire.KernelMessage;
export type KernelMessageType = KernelMessage['type'];

// ---- validation of kernel messages --------------------------------------------------------------

/** A message that does not follow the protocol. */
export class ProtocolError extends Error {}

// x-* keys are the schema's annotations for the code generators, not validation keywords.
const ajv = new Ajv2020({ strictTypes: false });
ajv.addVocabulary(['x-direction', 'x-protocol-version', 'x-comm-target']);
ajv.addSchema(PROTOCOL_SCHEMA);
const defRef = (name: string): string => `${PROTOCOL_SCHEMA.$id}#/$defs/${name}`;

/** The schema definition of each kernel message, by its wire type. */
export const KERNEL_DEFS = Object.fromEntries(
  PROTOCOL_SCHEMA.$defs.KernelMessage.oneOf.map((r) => [wireType(defName(r)), defName(r)])
) as Record<KernelMessageType, DefName>;

const validators = new Map<KernelMessageType, ValidateFunction>();
function validatorFor(type: KernelMessageType): ValidateFunction {
  let validate = validators.get(type);
  if (!validate) {
    validate = ajv.getSchema(defRef(KERNEL_DEFS[type]))!;
    validators.set(type, validate);
  }
  return validate;
}

/** `welcome.models[0].name` from the message type and an ajv instance path (`/models/0/name`). */
function pathOf(type: string, instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .reduce((p, part) => (/^\d+$/.test(part) ? `${p}[${part}]` : `${p}.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`), type);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null'
};

/** One line naming the first problem ajv found. */
function describe(type: string, error: ErrorObject, data: unknown): string {
  const path = pathOf(type, error.instancePath);
  const value = error.instancePath
    .split('/')
    .slice(1)
    .reduce<unknown>((v, part) => (v as Record<string, unknown> | undefined)?.[part], data);
  const shown = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 60);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${path}.${params.missingProperty} is missing`;
    case 'additionalProperties':
      return `${path}.${params.additionalProperty} is not a field of this message`;
    case 'enum':
      return `${path} must be one of ${(params.allowedValues as unknown[]).join(', ')}, got ${shown}`;
    case 'const':
      return `${path} must be ${JSON.stringify(params.allowedValue)}, got ${shown}`;
    case 'type':
      return `${path} must be ${TYPE_WORDS[params.type as string] ?? params.type}, got ${shown}`;
    default:
      return `${path} ${error.message ?? 'is not valid'}, got ${shown}`;
  }
}

/** Checks a message from the kernel against the protocol's schema; throws ProtocolError naming the first problem. */
export function parseKernelMessage(data: unknown): KernelMessage {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProtocolError('a kernel message must be an object');
  }
  const raw = data as Record<string, unknown>;
  if (raw.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(`the kernel speaks protocol version ${JSON.stringify(raw.v)}, this panel version ${PROTOCOL_VERSION}`);
  }
  if (typeof raw.type !== 'string' || !Object.prototype.hasOwnProperty.call(KERNEL_DEFS, raw.type)) {
    throw new ProtocolError(`unknown kernel message type ${JSON.stringify(raw.type)}`);
  }
  const type = raw.type as KernelMessageType;
  const validate = validatorFor(type);
  if (!validate(data)) throw new ProtocolError(describe(type, validate.errors![0], data));
  return data as KernelMessage;
}

/** Every problem of `value` against the whole protocol schema (any request or kernel message); empty when valid. */
export function schemaProblems(value: unknown): string[] {
  const validate = ajv.getSchema(PROTOCOL_SCHEMA.$id)!;
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `$${e.instancePath.replace(/\//g, '.')}: ${e.message ?? e.keyword}`);
}
