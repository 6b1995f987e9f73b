import type { ParamDefinition } from '../schema.js';

/** A (dereferenced) JSON Schema or OpenAPI object, read loosely. */
export type Schema = Record<string, unknown>;

const TYPES = new Set(['string', 'integer', 'number', 'boolean', 'array', 'object']);
/** Documentation-only keywords: they cost the model tokens and say nothing about valid input. */
const DROPPED = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'deprecated', 'readOnly', 'writeOnly']);
/** Deeper than this, a schema is shown as "anything": GitHub's nests objects many levels down. */
const MAX_DEPTH = 8;

/**
 * How a value of this schema is sent and checked: its type, or the first non-null one of a 3.1
 * type list, or what its shape implies; `string` when it says nothing (query values are text).
 */
export function simpleType(schema: Schema): ParamDefinition['type'] {
  const declared = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (typeof declared === 'string' && TYPES.has(declared)) return declared as ParamDefinition['type'];
  if (schema.properties || schema.additionalProperties) return 'object';
  if (schema.items) return 'array';
  const alternatives = (schema.oneOf ?? schema.anyOf ?? schema.allOf) as Schema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    const types = new Set(alternatives.map((a) => simpleType(a)));
    if (types.size === 1) return [...types][0] as ParamDefinition['type'];
    // A string-or-number (GitHub's issue `title`) travels as text in a query; objects as JSON.
    return [...types].some((t) => t === 'object' || t === 'array') ? 'object' : 'string';
  }
  return 'string';
}

/**
 * An object schema with `allOf` parts folded into one `properties` / `required` (how most specs
 * compose request bodies); undefined when the schema is not an object.
 */
export function mergedObjectSchema(schema: Schema): { properties: Record<string, Schema>; required: string[] } | undefined {
  const parts = [schema, ...((Array.isArray(schema.allOf) ? schema.allOf : []) as Schema[])];
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  let isObject = false;
  for (const part of parts) {
    if (part.type === 'object' || part.properties) isObject = true;
    Object.assign(properties, (part.properties ?? {}) as Record<string, Schema>);
    if (Array.isArray(part.required)) required.push(...(part.required as string[]));
  }
  return isObject ? { properties, required } : undefined;
}

/**
 * A copy fit for a tool's input schema (plain JSON): a circular schema becomes an open one (`{}`)
 * where its cycle closes, as does an unresolvable `$ref`; documentation-only and `x-` keywords go,
 * and nesting stops at MAX_DEPTH.
 */
export function cleanSchema(schema: Schema, depth = 0, ancestors: Set<object> = new Set()): Schema {
  if (depth >= MAX_DEPTH || typeof schema.$ref === 'string' || ancestors.has(schema)) return {};
  ancestors.add(schema);
  try {
    return cleanObject(schema, depth, ancestors);
  } finally {
    ancestors.delete(schema);
  }
}

function cleanObject(schema: Schema, depth: number, ancestors: Set<object>): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>)
          .filter(([, prop]) => prop?.readOnly !== true)
          .map(([name, prop]) => [name, cleanSchema(prop, depth + 1, ancestors)]),
      );
    } else if (Array.isArray(value)) {
      out[key] = value.map((v) => (v && typeof v === 'object' && !Array.isArray(v) ? cleanSchema(v as Schema, depth + 1, ancestors) : v));
    } else if (value && typeof value === 'object') {
      out[key] = cleanSchema(value as Schema, depth + 1, ancestors);
    } else {
      out[key] = value;
    }
  }
  // OpenAPI 3.0's `nullable` is not JSON Schema: say it the 3.1 / JSON Schema way.
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
}
