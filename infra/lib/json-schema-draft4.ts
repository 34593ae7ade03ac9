/**
 * Convert a JSON Schema written for draft 2020-12 (what `schemars` 1.x emits for the Rust
 * event contract) into the draft-04 dialect that API Gateway request models accept.
 *
 * Only what the contract uses, plus the common keywords around it, is mapped; anything this
 * function does not know how to express in draft 4 is an error at synth time rather than a
 * silently weaker validator.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const DRAFT4_URI = 'http://json-schema.org/draft-04/schema#';

/** Annotation-only keywords that draft 4 does not know; dropping them does not weaken validation. */
const DROPPED_ANNOTATIONS = new Set([
  '$comment', 'examples', 'deprecated', 'readOnly', 'writeOnly',
  'contentEncoding', 'contentMediaType', 'contentSchema', '$anchor', '$dynamicAnchor',
]);

/** Keywords that change validation and have no draft-4 equivalent: refuse them. */
const UNSUPPORTED = new Set([
  'unevaluatedProperties', 'unevaluatedItems', 'contains', 'minContains', 'maxContains',
  'propertyNames', 'if', 'then', 'else', 'dependentSchemas', '$dynamicRef', '$recursiveRef',
]);

/** Keywords whose value is a single subschema. */
const SUBSCHEMA = new Set(['not', 'additionalProperties', 'additionalItems', 'items']);
/** Keywords whose value is an array of subschemas. */
const SUBSCHEMA_ARRAY = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords whose value is a map of name to subschema. */
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rewrite a local reference (`#/$defs/Name`) to its draft-4 spelling (`#/definitions/Name`). */
export function convertRef(ref: string): string {
  if (!ref.startsWith('#')) {
    throw new Error(`only local $refs can be converted, got ${JSON.stringify(ref)}`);
  }
  return ref.replace(/^#\/\$defs\//, '#/definitions/');
}

function convertSubschema(schema: Json, at: string): Json {
  // Boolean schemas are draft 6+; draft 4 spells them {} and {"not": {}}.
  if (schema === true) return {};
  if (schema === false) return { not: {} };
  if (!isObject(schema)) {
    throw new Error(`${at}: expected a schema object, got ${JSON.stringify(schema)}`);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    const here = `${at}/${key}`;
    if (DROPPED_ANNOTATIONS.has(key) || key === '$schema' || key === '$id') continue;
    if (UNSUPPORTED.has(key)) {
      throw new Error(`${here}: keyword ${key} has no JSON Schema draft-04 equivalent`);
    }
    if (key === '$ref') {
      out.$ref = convertRef(value as string);
    } else if (key === 'const') {
      out.enum = [value];
    } else if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      if (typeof value === 'boolean') {
        out[key] = value; // already draft 4
      } else if (typeof value === 'number') {
        const bound = key === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        const existing = schema[bound];
        // Both present: keep the tighter one. Exclusive wins on a tie.
        const tighter = typeof existing !== 'number'
          || (bound === 'minimum' ? value >= existing : value <= existing);
        if (tighter) {
          out[bound] = value;
          out[key] = true;
        }
      } else {
        throw new Error(`${here}: expected a number`);
      }
    } else if ((key === 'minimum' || key === 'maximum') && typeof value === 'number') {
      const exclusive = schema[key === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'];
      const exclusiveWins = typeof exclusive === 'number'
        && (key === 'minimum' ? exclusive >= value : exclusive <= value);
      if (!exclusiveWins) out[key] = value;
    } else if (key === 'dependentRequired') {
      out.dependencies = { ...(isObject(out.dependencies) ? out.dependencies : {}), ...(value as JsonObject) };
    } else if (key === 'prefixItems') {
      // 2020-12 tuples: prefixItems + items(rest) => draft 4 items[] + additionalItems.
      out.items = (value as Json[]).map((s, i) => convertSubschema(s, `${here}/${i}`));
      const rest = schema.items;
      if (typeof rest === 'boolean') out.additionalItems = rest;
      else if (rest !== undefined) out.additionalItems = convertSubschema(rest, `${at}/items`);
    } else if (key === 'items' && 'prefixItems' in schema) {
      continue; // handled with prefixItems
    } else if (key === '$defs' || key === 'definitions') {
      const defs = convertSubschemaMap(value, here);
      out.definitions = { ...(isObject(out.definitions) ? out.definitions : {}), ...defs };
    } else if ((key === 'additionalProperties' || key === 'additionalItems') && typeof value === 'boolean') {
      out[key] = value; // draft 4 allows a boolean here
    } else if (SUBSCHEMA.has(key)) {
      out[key] = Array.isArray(value)
        ? value.map((s, i) => convertSubschema(s, `${here}/${i}`)) // draft-4 style items[] already
        : convertSubschema(value, here);
    } else if (SUBSCHEMA_ARRAY.has(key)) {
      out[key] = (value as Json[]).map((s, i) => convertSubschema(s, `${here}/${i}`));
    } else if (SUBSCHEMA_MAP.has(key)) {
      out[key] = convertSubschemaMap(value, here);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function convertSubschemaMap(value: Json, at: string): JsonObject {
  if (!isObject(value)) throw new Error(`${at}: expected an object of schemas`);
  const out: JsonObject = {};
  for (const [name, sub] of Object.entries(value)) {
    out[name] = convertSubschema(sub, `${at}/${name}`);
  }
  return out;
}

/** Every local `$ref` in a converted schema must point at a definition that exists. */
function checkRefs(root: JsonObject, node: Json, at: string): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => checkRefs(root, n, `${at}/${i}`));
    return;
  }
  if (!isObject(node)) return;
  if (typeof node.$ref === 'string') {
    const target = node.$ref.replace(/^#\//, '').split('/').filter((p) => p !== '')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<Json | undefined>((cur, part) => (isObject(cur) ? cur[part] : undefined), root);
    if (target === undefined) throw new Error(`${at}: dangling $ref ${node.$ref}`);
  }
  for (const [key, value] of Object.entries(node)) checkRefs(root, value, `${at}/${key}`);
}

/**
 * Convert a draft 2020-12 (or 2019-09 / draft 7) schema document to draft 4.
 * The result declares `$schema: draft-04` and keeps `title`/`description`.
 */
export function toDraft4(schema: Json): JsonObject {
  const converted = convertSubschema(schema, '#');
  const out = { $schema: DRAFT4_URI, ...(converted as JsonObject) };
  checkRefs(out, out, '#');
  return out;
}
