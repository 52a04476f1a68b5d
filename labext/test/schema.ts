// The protocol's JSON Schema fixture (exported by py_src/lenslab/comm/protocol.py) and a small
// validator for the subset of JSON Schema it uses, so the tests need no schema library.
// (Node's URL: under happy-dom the global URL is the DOM's.)
import { readFileSync } from 'node:fs';
import { URL as NodeURL, fileURLToPath } from 'node:url';

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

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The problems of `value` against `schema` (empty when valid). */
export function validate(value: unknown, schema: Schema = SCHEMA, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/$defs/', '');
    return validate(value, DEFS[name], path);
  }
  const errors: string[] = [];
  if (schema.oneOf) {
    const passing = (schema.oneOf as Schema[]).filter((s) => validate(value, s, path).length === 0).length;
    if (passing !== 1) errors.push(`${path}: matches ${passing} of the oneOf schemas`);
    return errors;
  }
  if (schema.anyOf) {
    if (!(schema.anyOf as Schema[]).some((s) => validate(value, s, path).length === 0)) errors.push(`${path}: matches none of anyOf`);
    return errors;
  }
  if ('const' in schema && value !== schema.const) errors.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${path}: not in enum`);
  if (schema.type) {
    const t = typeOf(value);
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) return [...errors, `${path}: must be ${schema.type}, is ${t}`];
  }
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errors.push(`${path}: too long`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errors.push(`${path}: too short`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: pattern`);
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below minimum`);
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push(`${path}: too many items`);
    if (schema.items) value.forEach((x, i) => errors.push(...validate(x, schema.items as Schema, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object' && schema.properties) {
    const obj = value as Record<string, unknown>;
    const props = schema.properties as Record<string, Schema>;
    for (const key of (schema.required as string[]) ?? []) if (!(key in obj)) errors.push(`${path}.${key}: missing`);
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) errors.push(...validate(v, props[key], `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
    }
  }
  return errors;
}
