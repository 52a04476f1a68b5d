// protocol.ts against the JSON Schema the kernel side exports: same version, same message
// types and choices; every kernel example parses and every broken one is refused with a reason.
import { describe, expect, it } from 'vitest';
import {
  COMM_TARGET,
  ERROR_CODES,
  JOB_STATUSES,
  KERNEL_DEFS,
  METRICS,
  PATCH_KINDS,
  PROTOCOL_VERSION,
  ProtocolError,
  REQUEST_TYPES,
  type RequestBody,
  type RequestType,
  makeRequest,
  parseKernelMessage
} from '../src/protocol';
import { DEFS, SCHEMA, type Schema, messageDefs, validate } from './schema';

const props = (def: Schema): Record<string, Schema> => def.properties as Record<string, Schema>;
const examples = (def: Schema): Record<string, unknown>[] => (def.examples as Record<string, unknown>[]) ?? [];

describe('the protocol matches the kernel-side schema', () => {
  it('has the same version and comm target', () => {
    expect(SCHEMA['x-protocol-version']).toBe(PROTOCOL_VERSION);
    expect(SCHEMA['x-comm-target']).toBe(COMM_TARGET);
  });

  it('has the same choices', () => {
    expect(props(DEFS.JobSpec).kind.enum).toEqual([...PATCH_KINDS]);
    expect(props(DEFS.JobSpec).metric.enum).toEqual([...METRICS]);
    expect(props(DEFS.JobRecord).status.enum).toEqual([...JOB_STATUSES]);
    expect(props(DEFS.Error).code.enum).toEqual([...ERROR_CODES]);
  });

  it('has the same message types in each direction', () => {
    expect(Object.keys(messageDefs('request')).sort()).toEqual([...REQUEST_TYPES].sort());
    expect(Object.keys(messageDefs('kernel')).sort()).toEqual(Object.keys(KERNEL_DEFS).sort());
  });

  it('validates each kernel message type against its own schema definition', () => {
    for (const [type, def] of Object.entries(messageDefs('kernel'))) {
      expect(DEFS[KERNEL_DEFS[type as keyof typeof KERNEL_DEFS]], type).toEqual(def);
    }
  });

  it('builds every request exactly as the schema example, and valid', () => {
    for (const [type, def] of Object.entries(messageDefs('request'))) {
      expect(examples(def).length, type).toBeGreaterThan(0);
      for (const example of examples(def)) {
        const body = Object.fromEntries(Object.entries(example).filter(([key]) => !['v', 'type', 'id'].includes(key)));
        const built = makeRequest(type as RequestType, example.id as string, body as RequestBody<RequestType>);
        expect(built).toEqual(example);
        expect(validate(built)).toEqual([]);
      }
    }
  });
});

describe('parseKernelMessage', () => {
  const kernelExamples = Object.entries(messageDefs('kernel')).flatMap(([type, def]) => examples(def).map((e) => [type, e] as const));

  it('accepts every example of every kernel message', () => {
    expect(kernelExamples.length).toBe(Object.keys(KERNEL_DEFS).length);
    for (const [type, example] of kernelExamples) {
      expect(validate(example)).toEqual([]);
      expect(parseKernelMessage(structuredClone(example)).type).toBe(type);
    }
  });

  it('refuses each example without any one of its fields', () => {
    for (const [type, example] of kernelExamples) {
      for (const key of Object.keys(example)) {
        const broken: Record<string, unknown> = structuredClone(example);
        delete broken[key];
        expect(() => parseKernelMessage(broken), `${type} without ${key}`).toThrow(ProtocolError);
      }
    }
  });

  it('refuses each example with any one field of the wrong type', () => {
    for (const [type, example] of kernelExamples) {
      for (const key of Object.keys(example)) {
        const broken = { ...structuredClone(example), [key]: { wrong: true } };
        expect(() => parseKernelMessage(broken), `${type}.${key}`).toThrow(ProtocolError);
        expect(validate(broken).length, `${type}.${key} (schema)`).toBeGreaterThan(0);
      }
    }
  });

  it('refuses extra fields, other versions, unknown types and non-objects', () => {
    const welcome = examples(messageDefs('kernel').welcome)[0];
    expect(() => parseKernelMessage({ ...welcome, extra: 1 })).toThrow(/extra is not a field/);
    expect(() => parseKernelMessage({ ...welcome, v: 5 })).toThrow(/protocol version 5/);
    expect(() => parseKernelMessage({ ...welcome, type: 'execute' })).toThrow(/unknown kernel message type/);
    expect(() => parseKernelMessage('welcome')).toThrow(ProtocolError);
    expect(() => parseKernelMessage(null)).toThrow(ProtocolError);
  });

  it('checks nested payloads and choices', () => {
    const models = structuredClone(examples(messageDefs('kernel').models)[0]) as { models: Record<string, unknown>[] };
    models.models[0].patch_kinds = ['everything'];
    expect(() => parseKernelMessage(models)).toThrow(/patch_kinds\[0\] must be one of/);
    const result = structuredClone(examples(messageDefs('kernel').result)[0]) as Record<string, unknown>;
    result.values = [1, null, 'NaN'];
    expect(() => parseKernelMessage(result)).toThrow(/values\[2\] must be a number/);
    result.values = [1, null, 2.5];
    expect(parseKernelMessage(result).type).toBe('result');
  });
});
