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
    const property: Record<string, unknown> = { type: param.type };
    if (param.description) property.description = param.description;
    if (param.enum) property.enum = param.enum;
    if (param.type === 'array') property.items = param.items ? { type: param.items.type } : {};
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
  let base = scalar(param.type);
  if (param.type === 'array') base = z.array(param.items ? scalar(param.items.type) : z.unknown());
  if (param.enum) {
    const allowed = param.enum;
    base = base.refine((v) => allowed.includes(v as string | number), { message: `must be one of: ${allowed.join(', ')}` });
  }
  return base;
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
