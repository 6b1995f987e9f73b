import { z } from 'zod';
import type { ParamDefinition, ToolDefinition } from './schema.js';

/** JSON Schema object advertised in `tools/list`. */
export interface JsonSchemaObject {
  [key: string]: unknown;
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties: false;
}

export function toInputSchema(tool: ToolDefinition): JsonSchemaObject {
  const properties: JsonSchemaObject['properties'] = {};
  const required: string[] = [];
  for (const [name, param] of Object.entries(tool.params)) {
    if (param.schema) {
      // An imported schema says more than `type` can (nested objects, formats, oneOf).
      properties[name] = { ...param.schema, ...(param.description ? { description: param.description } : {}) };
      if (param.required) required.push(name);
      continue;
    }
    const property: Record<string, unknown> = { type: param.type };
    if (param.description) property.description = param.description;
    if (param.type === 'array') {
      // On an array, `enum` lists the allowed elements (e.g. which fields to include).
      property.items = { ...(param.items ? { type: param.items.type } : {}), ...(param.enum ? { enum: param.enum } : {}) };
    } else if (param.enum) {
      property.enum = param.enum;
    }
    properties[name] = property;
    if (param.required) required.push(name);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** The same schema as a zod validator: arguments are checked before anything goes upstream. */
export function toArgumentValidator(tool: ToolDefinition): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, param] of Object.entries(tool.params)) {
    const base = paramValidator(param);
    shape[name] = param.required ? base : base.optional();
  }
  return z.strictObject(shape);
}

function paramValidator(param: ParamDefinition): z.ZodType {
  // A schema whose top level is not one plain type (oneOf, a nullable type, no type at all): the
  // upstream checks the details, and `type` here would only refuse what the schema allows.
  if (param.schema && typeof param.schema.type !== 'string') return z.unknown();
  const allowed = param.enum;
  const oneOf = (schema: z.ZodType): z.ZodType =>
    allowed ? schema.refine((v) => allowed.includes(v as string | number), { message: `must be one of: ${allowed.join(', ')}` }) : schema;
  if (param.type === 'array') return z.array(oneOf(param.items ? scalar(param.items.type) : z.unknown()));
  return oneOf(scalar(param.type));
}

function scalar(type: ParamDefinition['type']): z.ZodType {
  switch (type) {
    case 'string':
      return z.string();
    case 'integer':
      return z.number().int();
    case 'number':
      return z.number();
    case 'boolean':
      return z.boolean();
    case 'array':
      return z.array(z.unknown());
    case 'object':
      return z.record(z.string(), z.unknown());
  }
}
