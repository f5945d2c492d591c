/**
 * Property tests of the text format against libprotobuf (protoc), on random ModelConfig messages
 * generated from the proto reflection. Messages go to protoc in batches (a wrapper message with a
 * repeated ModelConfig field) so thousands of cases cost a handful of protoc runs.
 *
 * NX_TRITON_PROPERTY_RUNS (default 2000) messages per property; NX_TRITON_PROPERTY_SEED (fixed default).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../lib/model-config';
import { protocDecode, protocEncode, type ProtocOptions } from '../test/protoc';
import { modelConfigType } from './model-config';
import { canonicalConfig, canonicalConfigBytes, configFromMessage, configsEqual, parsePbtxt, toPbtxt } from './text-format';

const RUNS = Number(process.env.NX_TRITON_PROPERTY_RUNS ?? 2000);
const SEED = Number(process.env.NX_TRITON_PROPERTY_SEED ?? 20240611);
const BATCH = 200;
const MAX_DEPTH = 4;

type Plain = Record<string, unknown>;

// ---------------------------------------------------------------- generators from reflection

const RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Small values most of the time (what configs hold), the full range otherwise; 64-bit beyond 2^53 as strings. */
function integerArb(type: string): fc.Arbitrary<number | string> {
  const [min, max] = RANGES[type];
  const small = fc.bigInt({ min: min < 0n ? -3n : 0n, max: 300n });
  const edges = fc.constantFrom(min, max, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n).filter((v) => v >= min && v <= max);
  return fc
    .oneof({ weight: 6, arbitrary: small }, { weight: 3, arbitrary: fc.bigInt({ min, max }) }, { weight: 1, arbitrary: edges })
    .map((v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()));
}

const tricky = fc.constantFrom('"', '\\', "'", '\n', '\t', '\r', '\0', '\x7f', '#', '{', '}', ':', 'a', 'Z', '0', ' ', 'é', 'ß', '€', '😀', '\u2028', '\ufeff');
const stringArb = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: tricky, maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 5 }),
);

function scalarArb(type: string, resolved: protobuf.ReflectionObject | null, depth: number): fc.Arbitrary<unknown> {
  if (resolved instanceof protobuf.Type) return messageArb(resolved, depth + 1);
  if (resolved instanceof protobuf.Enum) {
    const names = Object.keys(resolved.values);
    return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 100 }) });
  }
  switch (type) {
    case 'string':
      return stringArb;
    case 'bool':
      return fc.boolean();
    case 'float':
      return fc.oneof(fc.float(), fc.constantFrom(0.5, 0.25, 1, 2.5)); // float32 values, incl. -0, inf, nan
    case 'double':
      return fc.oneof(fc.double(), fc.constantFrom(0.1, 1e-300, 5e-324, 1.7976931348623157e308));
    default:
      return integerArb(type);
  }
}

function mapKeyArb(keyType: string): fc.Arbitrary<string> {
  if (keyType === 'string') return stringArb.filter((k) => k !== '__proto__');
  return integerArb(keyType).map(String);
}

function present<T>(arb: fc.Arbitrary<T>, depth: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 3 + depth, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

const messageArbs = new Map<string, fc.Arbitrary<Plain>>();

function messageArb(type: protobuf.Type, depth: number): fc.Arbitrary<Plain> {
  if (depth > MAX_DEPTH) return fc.constant({});
  const cacheKey = `${type.fullName}@${depth}`;
  const cached = messageArbs.get(cacheKey);
  if (cached) return cached;

  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf) continue;
    const value = (): fc.Arbitrary<unknown> => scalarArb(field.type, field.resolvedType, depth);
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      parts[field.name] = present(fc.dictionary(mapKeyArb(keyType), value(), { maxKeys: 3 }), depth);
    } else if (field.repeated) parts[field.name] = present(fc.array(value(), { maxLength: 3 }), depth);
    else parts[field.name] = present(value(), depth);
  }
  // A oneof: none or exactly one member.
  for (const oneof of type.oneofsArray) {
    const members = oneof.fieldsArray.map((f) => {
      f.resolve();
      return scalarArb(f.type, f.resolvedType, depth).map((v) => [f.name, v] as const);
    });
    parts[`$oneof:${oneof.name}`] = present(fc.oneof(...members), depth);
  }
  const arb = fc.record(parts).map((drawn) => {
    const out: Plain = {};
    for (const [key, value] of Object.entries(drawn)) {
      if (value === undefined) continue;
      if (key.startsWith('$oneof:')) {
        const [name, v] = value as readonly [string, unknown];
        out[name] = v;
      } else out[key] = value;
    }
    return out;
  });
  messageArbs.set(cacheKey, arb);
  return arb;
}

const configArb = messageArb(modelConfigType(), 0) as fc.Arbitrary<ModelConfig>;
const batchArb = fc.array(configArb, { minLength: BATCH, maxLength: BATCH });

// ---------------------------------------------------------------- an oracle independent of text-format.ts

function sameScalar(field: protobuf.Field, a: unknown, b: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const num = (v: unknown) => (typeof v === 'string' ? resolved.values[v] : Number(v ?? 0));
    return num(a) === num(b);
  }
  switch (field.type) {
    case 'string':
      return (a ?? '') === (b ?? '');
    case 'bool':
      return Boolean(a) === Boolean(b);
    case 'float':
    case 'double': {
      const round = field.type === 'float' ? Math.fround : (v: number) => v;
      const x = round(Number(a ?? 0));
      const y = round(Number(b ?? 0));
      // A singular proto3 float of -0 counts as unset in protobufjs; repeated values keep their sign.
      return Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || (!field.repeated && x === 0 && y === 0);
    }
    default:
      return BigInt((a ?? 0) as number | string) === BigInt((b ?? 0) as number | string);
  }
}

/** The first difference between two plain messages (absent == default for proto3 scalars), or null. */
function difference(type: protobuf.Type, a: Plain, b: Plain, path = ''): string | null {
  for (const field of type.fieldsArray) {
    field.resolve();
    const here = path ? `${path}.${field.name}` : field.name;
    const x = a[field.name];
    const y = b[field.name];
    const message = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    const one = (u: unknown, v: unknown, at: string): string | null => {
      if (message) {
        if ((u == null) !== (v == null)) return `${at}: present on one side only`;
        return u == null ? null : difference(message, u as Plain, v as Plain, at);
      }
      return sameScalar(field, u, v) ? null : `${at}: ${JSON.stringify(u)} != ${JSON.stringify(v)}`;
    };
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const canon = (m: unknown) => {
        const out = new Map<string, unknown>();
        for (const [k, v] of Object.entries((m ?? {}) as Plain)) out.set(keyType === 'string' ? k : BigInt(k).toString(), v);
        return out;
      };
      const mx = canon(x);
      const my = canon(y);
      if (mx.size !== my.size) return `${here}: ${mx.size} entries != ${my.size}`;
      for (const [k, v] of mx) {
        if (!my.has(k)) return `${here}[${k}]: missing`;
        const d = one(v ?? (message ? {} : undefined), my.get(k) ?? (message ? {} : undefined), `${here}[${k}]`);
        if (d) return d;
      }
    } else if (field.repeated) {
      const lx = (x ?? []) as unknown[];
      const ly = (y ?? []) as unknown[];
      if (lx.length !== ly.length) return `${here}: ${lx.length} items != ${ly.length}`;
      for (let i = 0; i < lx.length; i++) {
        const d = one(lx[i], ly[i], `${here}[${i}]`);
        if (d) return d;
      }
    } else if (field.partOf && !message && (x == null) !== (y == null)) {
      return `${here}: oneof member present on one side only`;
    } else {
      const d = one(x, y, here);
      if (d) return d;
    }
  }
  return null;
}

function rawObject(message: protobuf.Message): Plain {
  return modelConfigType().toObject(message, { longs: String, enums: String }) as Plain;
}

// ---------------------------------------------------------------- batching through protoc

let tmp: string;
let batchOpts: ProtocOptions;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nx-triton-pbtxt-'));
  writeFileSync(
    join(tmp, 'batch.proto'),
    'syntax = "proto3";\npackage nxtest;\nimport "model_config.proto";\nmessage Batch { repeated inference.ModelConfig m = 1; }\n',
  );
  batchOpts = { type: 'nxtest.Batch', file: 'batch.proto', protoPaths: [tmp] };
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The ModelConfig bytes of each `m` in an encoded Batch. */
function splitBatch(bytes: Uint8Array): Uint8Array[] {
  const reader = protobuf.Reader.create(bytes);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag !== 10) throw new Error(`unexpected tag ${tag} in Batch`);
    out.push(reader.bytes());
  }
  return out;
}

function joinBatch(messages: Uint8Array[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const m of messages) writer.uint32(10).bytes(m);
  return writer.finish();
}

/** protoc prints each `m { ... }` with `m {` and `}` alone at column 0 and the body indented by 2. */
function splitBatchText(text: string): string[] {
  const out: string[] = [];
  let body: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line === 'm {') body = [];
    else if (line === '}') {
      out.push(body!.join('\n'));
      body = null;
    } else if (body) body.push(line.slice(2));
    else if (line !== '') throw new Error(`unexpected line in protoc output: ${line}`);
  }
  return out;
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}\n`)
    .join('');
}

function mismatch(what: string, config: ModelConfig, detail: string): Error {
  return new Error(`${what}\nconfig: ${JSON.stringify(config)}\n${detail}`);
}

const params = { seed: SEED, numRuns: Math.max(1, Math.ceil(RUNS / BATCH)), endOnFailure: true };

/** Runs `check` on batches; a failure reports the one config at fault, not the whole batch. */
function forAllBatches(check: (config: ModelConfig, index: number, configs: ModelConfig[]) => void, prepare?: (configs: ModelConfig[]) => void): number {
  let checked = 0;
  const details = fc.check(
    fc.property(batchArb, (configs) => {
      prepare?.(configs);
      configs.forEach((config, i) => {
        try {
          check(config, i, configs);
        } catch (err) {
          throw mismatch(`seed ${SEED}: ${(err as Error).message}`, config, '');
        }
        checked++;
      });
    }),
    params,
  );
  if (details.failed) throw details.errorInstance ?? new Error(`property failed (seed ${SEED})`);
  return checked;
}

describe(`text format properties (${RUNS} messages each, seed ${SEED})`, () => {
  it('(a) our text -> protoc --encode -> protobufjs decode equals the original message', () => {
    let texts: string[] = [];
    let encoded: Uint8Array[] = [];
    const checked = forAllBatches(
      (config, i) => {
        const decoded = modelConfigType().decode(encoded[i]);
        const diff = difference(modelConfigType(), { ...config }, rawObject(decoded));
        if (diff) throw new Error(`protoc read our text differently: ${diff}\ntext:\n${texts[i]}`);
        if (!configsEqual(configFromMessage(decoded), config)) throw new Error(`not configsEqual\ntext:\n${texts[i]}`);
      },
      (configs) => {
        texts = configs.map((c) => toPbtxt(c));
        encoded = splitBatch(protocEncode(texts.map((t) => `m {\n${indent(t)}}\n`).join(''), batchOpts));
        expect(encoded).toHaveLength(configs.length);
      },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  });

  it('(b) protoc --decode text of the encoded message -> parsePbtxt equals the original message', () => {
    let texts: string[] = [];
    const checked = forAllBatches(
      (config, i) => {
        const parsed = parsePbtxt(texts[i], `batch[${i}]`);
        const diff = difference(modelConfigType(), { ...config }, { ...parsed });
        if (diff) throw new Error(`parsePbtxt read protoc's text differently: ${diff}\ntext:\n${texts[i]}`);
        if (!configsEqual(parsed, config)) throw new Error(`parsePbtxt read protoc's text differently\ntext:\n${texts[i]}`);
        expect(parsed).toEqual(canonicalConfig(config));
      },
      (configs) => {
        texts = splitBatchText(protocDecode(joinBatch(configs.map((c) => canonicalConfigBytes(c))), batchOpts));
        expect(texts).toHaveLength(configs.length);
      },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  });

  it('(c) parsePbtxt(toPbtxt(x)) is the canonical x, and printing is stable', () => {
    const checked = forAllBatches((config) => {
      const text = toPbtxt(config);
      const parsed = parsePbtxt(text, 'c');
      expect(parsed).toEqual(canonicalConfig(config));
      expect(toPbtxt(parsed)).toBe(text);
    });
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  });
});
