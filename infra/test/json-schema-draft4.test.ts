import * as fs from 'fs';
import * as path from 'path';
import { convertRef, DRAFT4_URI, Json, toDraft4 } from '../lib/json-schema-draft4';
import { PLACE_ORDER_SCHEMA_PATH } from '../lib/skipline-stack';

const sample = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'place-order.sample.schema.json'), 'utf8'));

/** Every value of a key anywhere in a document. */
function collect(node: Json, key: string, out: Json[] = []): Json[] {
  if (Array.isArray(node)) node.forEach((n) => collect(n, key, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

describe('toDraft4 on a schemars-style sample', () => {
  const out = toDraft4(sample);

  test('declares draft 4 and keeps title/description', () => {
    expect(out.$schema).toBe(DRAFT4_URI);
    expect(out.title).toBe('PlaceOrder');
    expect(out.description).toBe('Body of POST /order.');
  });

  test('$defs become definitions and every $ref follows', () => {
    expect(out.$defs).toBeUndefined();
    expect(Object.keys(out.definitions as object).sort()).toEqual(Object.keys(sample.$defs).sort());
    const refs = collect(out, '$ref');
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/^#\/definitions\/[A-Za-z]+$/);
    expect(JSON.stringify(out)).not.toContain('$defs');
  });

  test('numeric exclusiveMinimum becomes minimum + exclusiveMinimum: true', () => {
    const number = ((out.definitions as any).UnitPrice.oneOf as any[]).find((s) => s.type === 'number');
    expect(number).toEqual({ type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1000 });
  });

  test('const becomes a one-value enum; annotations of later drafts are dropped', () => {
    expect((out.definitions as any).OrderEventTag).toEqual({ type: 'string', enum: ['new_order'], description: 'Only new_order.' });
    expect(collect(out, 'examples')).toEqual([]);
  });

  test('validation keywords are kept', () => {
    const order = (out.definitions as any).OrderRequest;
    expect(order.additionalProperties).toBe(false);
    expect(order.required).toEqual(['accountid', 'vendorid', 'orderdate', 'city', 'details', 'eventtype']);
    expect(order.properties.accountid).toEqual({ type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
    expect(out.additionalProperties).toBe(false);
  });
});

describe('toDraft4 keyword mapping', () => {
  test('exclusiveMaximum, both bounds, boolean schemas, tuples', () => {
    expect(toDraft4({ type: 'number', exclusiveMaximum: 5 })).toEqual({ $schema: DRAFT4_URI, type: 'number', maximum: 5, exclusiveMaximum: true });
    // minimum 0 with exclusiveMinimum 0: the exclusive bound is the tighter one
    expect(toDraft4({ minimum: 0, exclusiveMinimum: 0 })).toEqual({ $schema: DRAFT4_URI, minimum: 0, exclusiveMinimum: true });
    // minimum 3 is tighter than exclusiveMinimum 1
    expect(toDraft4({ exclusiveMinimum: 1, minimum: 3 })).toEqual({ $schema: DRAFT4_URI, minimum: 3 });
    expect(toDraft4({ properties: { a: true, b: false } })).toEqual({ $schema: DRAFT4_URI, properties: { a: {}, b: { not: {} } } });
    expect(toDraft4({ type: 'array', prefixItems: [{ type: 'string' }], items: false })).toEqual({
      $schema: DRAFT4_URI, type: 'array', items: [{ type: 'string' }], additionalItems: false,
    });
    expect(toDraft4({ dependentRequired: { a: ['b'] } })).toEqual({ $schema: DRAFT4_URI, dependencies: { a: ['b'] } });
  });

  test('a property named like a keyword is a name, not a keyword', () => {
    expect(toDraft4({ properties: { const: { const: 1 }, $ref: { type: 'string' } } })).toEqual({
      $schema: DRAFT4_URI, properties: { const: { enum: [1] }, $ref: { type: 'string' } },
    });
  });

  test('refuses what draft 4 cannot say, and dangling or remote refs', () => {
    expect(() => toDraft4({ unevaluatedProperties: false })).toThrow(/unevaluatedProperties/);
    expect(() => toDraft4({ if: { type: 'string' } })).toThrow(/draft-04/);
    expect(() => toDraft4({ $ref: '#/$defs/Missing' })).toThrow(/dangling/);
    expect(() => convertRef('https://example.com/s.json')).toThrow(/local/);
  });
});

describe('the real contract file', () => {
  const real = JSON.parse(fs.readFileSync(PLACE_ORDER_SCHEMA_PATH, 'utf8'));
  const out = toDraft4(real);

  test('converts with every $ref resolved and no draft-2020 keywords left', () => {
    expect(out.$schema).toBe(DRAFT4_URI);
    const text = JSON.stringify(out);
    for (const keyword of ['$defs', '"const"', 'prefixItems', 'unevaluated', '2020-12']) expect(text).not.toContain(keyword);
    for (const ref of collect(out, '$ref')) expect(ref).toMatch(/^#\/definitions\//);
    for (const v of collect(out, 'exclusiveMinimum')) expect(typeof v).toBe('boolean');
    for (const v of collect(out, 'exclusiveMaximum')) expect(typeof v).toBe('boolean');
  });

  test('keeps the body shape: {"order": {...}} with no extra fields', () => {
    expect(out.type).toBe('object');
    expect(out.required).toEqual(['order']);
    expect(out.additionalProperties).toBe(false);
    const order = (out.definitions as any)[(out.properties as any).order.$ref.split('/').pop()];
    expect(order.required).toEqual(expect.arrayContaining(['accountid', 'vendorid', 'orderdate', 'city', 'details', 'eventtype']));
  });
});
