import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { configJsonSchema } from './schema.ts';
import { starterConfig } from './starter.ts';

type Schema = Record<string, unknown>;

const EXAMPLE = readFileSync(new URL('./testdata/issue-example.yaml', import.meta.url), 'utf8');

// JSON Schema 2020-12 keywords (core, applicator, validation, meta-data) the schema may use.
const KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$defs', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly',
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'propertyNames', 'patternProperties',
  'items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains',
  'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else',
]);
const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

/** Structural check of a schema node against the 2020-12 meta-schema's rules for the keywords used. */
function checkSchema(node: unknown, where: string): void {
  if (typeof node === 'boolean') return;
  assert.ok(typeof node === 'object' && node !== null && !Array.isArray(node), `${where}: a schema is an object or boolean`);
  const s = node as Schema;
  for (const key of Object.keys(s)) assert.ok(KEYWORDS.has(key), `${where}: unknown keyword ${key}`);
  if (s.type !== undefined) assert.ok(TYPES.has(s.type as string), `${where}: bad type ${String(s.type)}`);
  if (s.pattern !== undefined) new RegExp(s.pattern as string, 'u');
  if (s.enum !== undefined) assert.ok(Array.isArray(s.enum) && s.enum.length > 0, `${where}: enum`);
  if (s.required !== undefined) {
    assert.ok(Array.isArray(s.required));
    for (const r of s.required) assert.ok(Object.hasOwn((s.properties ?? {}) as Schema, r as string), `${where}: required ${String(r)} has no property`);
  }
  for (const [k, v] of Object.entries((s.properties ?? {}) as Schema)) checkSchema(v, `${where}.properties.${k}`);
  for (const key of ['additionalProperties', 'propertyNames', 'items', 'not']) if (s[key] !== undefined) checkSchema(s[key], `${where}.${key}`);
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (s[key] === undefined) continue;
    assert.ok(Array.isArray(s[key]) && (s[key] as unknown[]).length > 0, `${where}.${key}`);
    (s[key] as unknown[]).forEach((sub, i) => checkSchema(sub, `${where}.${key}.${i}`));
  }
}

/** A small validator for the keywords above: enough to see the schema accept real files. */
function validates(schema: unknown, value: unknown): boolean {
  if (typeof schema === 'boolean') return schema;
  const s = schema as Schema;
  const t = s.type;
  const isObj = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (t === 'object' && !isObj) return false;
  if (t === 'array' && !Array.isArray(value)) return false;
  if (t === 'string' && typeof value !== 'string') return false;
  if (t === 'boolean' && typeof value !== 'boolean') return false;
  if (t === 'integer' && !Number.isInteger(value)) return false;
  if (t === 'number' && typeof value !== 'number') return false;
  if (s.const !== undefined && value !== s.const) return false;
  if (Array.isArray(s.enum) && !s.enum.includes(value)) return false;
  if (typeof value === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) return false;
    if (typeof s.minLength === 'number' && value.length < s.minLength) return false;
  }
  if (typeof value === 'number' && typeof s.minimum === 'number' && value < s.minimum) return false;
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return false;
    if (s.items !== undefined && !value.every((v) => validates(s.items, v))) return false;
  }
  if (isObj) {
    const obj = value as Schema;
    const props = (s.properties ?? {}) as Schema;
    if (Array.isArray(s.required) && !s.required.every((r) => Object.hasOwn(obj, r as string))) return false;
    for (const [k, v] of Object.entries(obj)) {
      if (s.propertyNames !== undefined && !validates(s.propertyNames, k)) return false;
      if (Object.hasOwn(props, k)) {
        if (!validates(props[k], v)) return false;
      } else if (s.additionalProperties !== undefined && !validates(s.additionalProperties, v)) return false;
    }
  }
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => validates(sub, value))) return false;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((sub) => validates(sub, value)).length !== 1) return false;
  return true;
}

const at = (schema: Schema, ...path: string[]): Schema => path.reduce((node, key) => (node as Schema)[key] as Schema, schema);

describe('configJsonSchema', () => {
  const schema = configJsonSchema();

  it('is JSON Schema draft 2020-12, and survives JSON', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    checkSchema(schema, '#');
  });

  it('names the known keys and refuses others', () => {
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(at(schema, 'properties')), ['state_dir', 'hostname', 'destinations', 'sources']);
    assert.deepEqual(schema.required, ['destinations', 'sources']);
    const source = at(schema, 'properties', 'sources', 'additionalProperties');
    assert.deepEqual(Object.keys(at(source, 'properties')), [
      'paths', 'command', 'filename', 'priority', 'frequency', 'destinations', 'exclude', 'exclude_from',
      'sensitive', 'age_identity', 'must_be_mountpoint', 'min_files', 'tags',
    ]);
    assert.deepEqual(source.required, ['priority', 'frequency', 'destinations']);
    assert.deepEqual(at(source, 'properties', 'priority', 'enum'), ['critical', 'high', 'medium', 'low']);
    assert.equal(source.additionalProperties, false);
    assert.equal(at(schema, 'properties', 'sources', 'propertyNames', 'pattern'), '^[a-z0-9][a-z0-9_-]*$');
  });

  it('describes each destination kind with its own keys', () => {
    const kinds = at(schema, 'properties', 'destinations', 'additionalProperties', 'oneOf') as unknown as Schema[];
    const keys = Object.fromEntries(kinds.map((k) => [String(at(k, 'properties', 'kind', 'const')), Object.keys(at(k, 'properties'))]));
    const common = ['format', 'subdir', 'password_file', 'password_command', 'retention', 'stale_after'];
    assert.deepEqual(keys, {
      usb: ['kind', 'label', 'uuid', 'mountpoint', ...common],
      nas: ['kind', 'path', 'mountpoint', ...common],
      local: ['kind', 'path', ...common],
    });
    const retention = at(kinds[0] as Schema, 'properties', 'retention', 'properties');
    assert.deepEqual(Object.keys(retention), ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly', 'keep_within', 'keep_tags']);
  });

  it('accepts the issue example and the starter config, and refuses a misspelt key', () => {
    assert.ok(validates(schema, parse(EXAMPLE)));
    assert.ok(validates(schema, parse(starterConfig(() => true))));
    const typo = parse(EXAMPLE.replace('priority: critical', 'priorty: critical'));
    assert.equal(validates(schema, typo), false);
  });
});
