// The protocol's JSON Schema fixture (exported by py_src/lenslab/comm/protocol.py) and its
// validator, which is labext/src/protocol.ts's ajv compiled from the same schema.
// (Node's URL: under happy-dom the global URL is the DOM's.)
import { readFileSync } from 'node:fs';
import { URL as NodeURL, fileURLToPath } from 'node:url';
import { schemaProblems } from '../src/protocol';

export type Schema = Record<string, unknown>;

export const SCHEMA: Schema = JSON.parse(readFileSync(fileURLToPath(new NodeURL('./fixtures/protocol.schema.json', import.meta.url)), 'utf8'));
export const DEFS = SCHEMA.$defs as Record<string, Schema>;

/** Message definitions (those with a direction), by their wire type. */
export function messageDefs(direction: 'request' | 'kernel'): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const def of Object.values(DEFS)) {
    if (def['x-direction'] !== direction) continue;
    const type = ((def.properties as Record<string, Schema>).type as Schema).const as string;
    out[type] = def;
  }
  return out;
}

/** The problems of `value` against the protocol schema (empty when valid): the same ajv path as parseKernelMessage. */
export const validate = schemaProblems;
