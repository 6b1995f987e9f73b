import type { ParamDefinition } from '../schema.js';
import { cleanSchema, mergedObjectSchema, simpleType, type Schema } from './json-schema.js';

/** One operation of the document, where it sits and what it says. */
export interface Operation {
  method: string;
  path: string;
  operationId: string | undefined;
  summary?: string;
  description?: string;
  parameters: Schema[];
  requestBody?: Schema;
}

/** A tool as the providers file would write it, before the tool schema checks it. */
export interface RawTool {
  name: string;
  description: string;
  method: string;
  path: string;
  params: Record<string, ParamDefinition>;
}

/** Why an operation cannot be a tool here (said when it is listed in `operations`). */
export class UnsupportedOperation extends Error {}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An OpenAPI operation as a tool: its `operationId` (with the provider's prefix) as the name,
 * summary and description, path and query parameters and the properties of a JSON request body
 * as params, each with its (dereferenced) JSON Schema. What this server cannot send (a required
 * header or cookie, a body that is not a JSON object) makes the operation unsupported.
 */
export function operationTool(op: Operation, prefix: string): RawTool {
  const params: Record<string, ParamDefinition> = {};
  for (const p of op.parameters) {
    const name = typeof p.name === 'string' ? p.name : '';
    const where = p.in;
    const required = p.required === true || where === 'path';
    if (where !== 'path' && where !== 'query') {
      if (required) throw new UnsupportedOperation(`it needs the ${String(where)} parameter "${name}", which tools cannot send`);
      continue;
    }
    if (!PARAM_NAME.test(name)) {
      if (required) throw new UnsupportedOperation(`its parameter "${name}" is not a name tools can use (A-Z a-z 0-9 _)`);
      continue;
    }
    const schema = (p.schema as Schema | undefined) ?? {};
    params[name] = paramOf(schema, where, required, typeof p.description === 'string' ? p.description : undefined);
  }
  if (op.requestBody) addBodyParams(op.requestBody, params);
  const text = [op.summary, op.description].filter((t): t is string => typeof t === 'string' && t.trim() !== '').join('\n\n');
  return {
    name: toolName(prefix, op),
    description: (text || `${op.method.toUpperCase()} ${op.path}`).slice(0, 2000),
    method: op.method.toUpperCase(),
    path: op.path,
    params,
  };
}

function addBodyParams(body: Schema, params: Record<string, ParamDefinition>): void {
  const content = (body.content ?? {}) as Record<string, Schema>;
  const type = Object.keys(content).find((t) => /^application\/(.+\+)?json\b/i.test(t));
  if (!type) {
    if (body.required === true) throw new UnsupportedOperation('its request body is not JSON');
    return;
  }
  const schema = mergedObjectSchema((content[type]?.schema as Schema | undefined) ?? {});
  if (!schema) throw new UnsupportedOperation('its JSON request body is not an object, and tools send body params as one object');
  const requiredProps = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (prop.readOnly === true) continue; // response-only (OpenAPI 3.0 §4.7.25.1)
    if (!PARAM_NAME.test(name)) {
      if (requiredProps.has(name)) throw new UnsupportedOperation(`its body property "${name}" is not a name tools can use (A-Z a-z 0-9 _)`);
      continue;
    }
    if (params[name]) throw new UnsupportedOperation(`its body property "${name}" has the name of one of its parameters`);
    params[name] = paramOf(prop, 'body', body.required === true && requiredProps.has(name), typeof prop.description === 'string' ? prop.description : undefined);
  }
}

function paramOf(schema: Schema, where: ParamDefinition['in'], required: boolean, description: string | undefined): ParamDefinition {
  const type = simpleType(schema);
  const items = type === 'array' ? simpleType((schema.items as Schema | undefined) ?? {}) : undefined;
  const cleaned = cleanSchema(schema);
  delete cleaned.description;
  return {
    type,
    in: where,
    required,
    ...(description ? { description: description.slice(0, 1000) } : {}),
    ...(items && items !== 'array' && items !== 'object' ? { items: { type: items } } : {}),
    schema: cleaned,
  };
}

/** MCP tool names are 1–64 characters of A-Z a-z 0-9 _ . - (SEP-986); GitHub's `repos/get` becomes `repos_get`. */
function toolName(prefix: string, op: Operation): string {
  const base = op.operationId ?? `${op.method}_${op.path}`;
  return `${prefix}${base}`.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 64);
}
