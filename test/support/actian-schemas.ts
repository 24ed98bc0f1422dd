// Actian's Swagger 2.0 documents (test/fixtures/actian) as JSON Schema for ajv: every answer
// of the Actian-compatible API is checked against the schema Actian gives for it.

import { readFileSync } from 'node:fs';

import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';


export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Swagger {
  definitions: Record<string, Json>;
  paths: Record<string, Record<string, { responses: Record<string, { schema?: Json }> }>>;
}

export const SPECS = {
  configuration: JSON.parse(readFileSync(new URL('../fixtures/actian/job-configuration.json', import.meta.url), 'utf8')) as Swagger,
  execution: JSON.parse(readFileSync(new URL('../fixtures/actian/job-execution.json', import.meta.url), 'utf8')) as Swagger,
};

/** Keywords of Swagger 2.0 (and vendor extensions) that are not JSON Schema. */
const SWAGGER_ONLY = new Set(['example', 'xml', 'externalDocs', 'discriminator', 'readOnly', 'collectionFormat', 'allowEmptyValue']);

/** A Swagger 2.0 schema as JSON Schema: refs to `#/$defs/X`, Swagger-only keywords dropped. */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) {
    if (SWAGGER_ONLY.has(k) || k.startsWith('x-')) continue;
    if (k === '$ref' && typeof v === 'string') {
      out.$ref = v.replace(/^#\/definitions\//, '#/$defs/');
      continue;
    }
    // `properties` and `$defs` hold names, not keywords: convert their values only.
    if ((k === 'properties' || k === 'definitions') && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toJsonSchema(s)]));
      continue;
    }
    out[k] = toJsonSchema(v);
  }
  return out;
}

export const ajv = new Ajv({ strict: true, allErrors: true });
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
addFormats(ajv);
// Swagger's numeric formats.
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
ajv.addFormat('float', { type: 'number', validate: () => true });
ajv.addFormat('double', { type: 'number', validate: () => true });
ajv.addFormat('binary', { type: 'string', validate: () => true });

const compiled = new Map<string, ValidateFunction>();

export function validatorFor(spec: keyof typeof SPECS, schema: Json): ValidateFunction {
  const key = `${spec}:${JSON.stringify(schema)}`;
  let v = compiled.get(key);
  if (!v) {
    const defs = Object.fromEntries(Object.entries(SPECS[spec].definitions).map(([n, s]) => [n, toJsonSchema(s)]));
    v = ajv.compile({ ...(toJsonSchema(schema) as object), $defs: defs });
    compiled.set(key, v);
  }
  return v;
}

/** The schema of an operation's answer in Actian's spec; `definition` where the spec gives none (documented in docs/http-api.md). */
export function responseSchema(spec: keyof typeof SPECS, method: string, path: string, status: number, definition?: string): Json {
  const op = SPECS[spec].paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`no ${method} ${path} in ${spec}`);
  const r = op.responses[String(status)] ?? op.responses['default'];
  if (!r) throw new Error(`${method} ${path} has no answer ${status} in ${spec}`);
  if (r.schema !== undefined && definition === undefined) return r.schema;
  if (definition === undefined) throw new Error(`${method} ${path} ${status} has no schema in ${spec}: say which definition`);
  if (!SPECS[spec].definitions[definition]) throw new Error(`no definition ${definition}`);
  return { $ref: `#/definitions/${definition}` };
}

/** Errors of `body` against Actian's schema of an operation's answer, or undefined when it fits. */
export function actianSchemaErrors(spec: keyof typeof SPECS, method: string, path: string, status: number, body: unknown, definition?: string): string | undefined {
  const validate = validatorFor(spec, responseSchema(spec, method, path, status, definition));
  return validate(body) ? undefined : ajv.errorsText(validate.errors);
}
