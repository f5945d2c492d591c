/**
 * config.pbtxt <-> ModelConfig: protobuf text format as Triton (libprotobuf `TextFormat`) reads it.
 *
 * Writing goes through protobufjs' `ext/textformat` `toText`, fed only with messages built by
 * `fromObject` from a checked, normalised plain object (see `normalizeMessage`): that keeps empty
 * sub-messages, prints 64-bit values exactly (long.js) and sidesteps its map-key bug (see
 * text-format.spec.ts, "protobufjs toText bug").
 *
 * Reading uses our own parser: protobufjs' `fromText` reports only a line, words its errors
 * unlike protoc, and accepts map entries protoc rejects (`key: "a" key: "b"`). The parser below
 * follows libprotobuf's `TextFormat::Parser` rules and messages, with line and column.
 */
import * as protobuf from 'protobufjs';
import { toText } from 'protobufjs/ext/textformat.js';
import { SpecError } from '../lib/errors';
import type { ModelConfig } from '../lib/types';
import { INT_RANGES, modelConfigType } from './model-config';

type Plain = Record<string, unknown>;

/** A field as the parser and normaliser see it: real fields and the synthetic map-entry fields. */
interface FieldLike {
  name: string;
  type: string;
  resolvedType: protobuf.Type | protobuf.Enum | null;
  repeated: boolean;
  map: boolean;
  keyType?: string;
  partOf: protobuf.OneOf | null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A plain-object map cannot hold this key (protobufjs' fromObject would drop it silently). */
const RESERVED_KEY = '__proto__';

function is64(type: string): boolean {
  return /64$/.test(type) && type !== 'double';
}

function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

/** The shortest decimal that reads back (through float32) as the same float32 value. */
export function canonicalFloat32(value: number): number {
  const f = Math.fround(value);
  if (f === 0 || !Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const shortest = Number(f.toPrecision(p));
    if (Math.fround(shortest) === f) return shortest;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Plain object -> checked plain object (the one input protobufjs' fromObject gets)
// ---------------------------------------------------------------------------------------------

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function toInteger(value: unknown, type: string, path: string): bigint {
  let big: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'bigint') big = value;
  else if (typeof value === 'string' && /^-?(0|[1-9][0-9]*)$/.test(value)) big = BigInt(value);
  if (big === undefined) throw new ShapeError(path, `expected an integer (${type}), got ${describe(value)}`);
  const [min, max] = INT_RANGES[type];
  if (big < min || big > max) throw new ShapeError(path, `integer out of range for ${type}: ${big}`);
  return big;
}

/** 64-bit integers as numbers while exact, decimal strings beyond. */
function integerValue(big: bigint, type: string): number | string {
  if (!is64(type)) return Number(big);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

function normalizeScalar(field: FieldLike, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (!isPlainObject(value)) throw new ShapeError(path, `expected a map (message ${fullName(resolved)}), got ${describe(value)}`);
    return normalizeMessage(resolved, value, path);
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string') {
      if (resolved.values[value] === undefined)
        throw new ShapeError(path, `unknown value ${JSON.stringify(value)} (expected one of ${Object.keys(resolved.values).join(', ')})`);
      return value;
    }
    const n = Number(toInteger(value, 'int32', path));
    return resolved.valuesById[n] ?? n;
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw new ShapeError(path, `expected a string, got ${describe(value)}`);
      if (LONE_SURROGATE.test(value)) throw new ShapeError(path, 'string holds a lone UTF-16 surrogate');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new ShapeError(path, `expected true or false, got ${describe(value)}`);
      return value;
    case 'float':
    case 'double':
      if (typeof value !== 'number') throw new ShapeError(path, `expected a number, got ${describe(value)}`);
      return field.type === 'float' ? canonicalFloat32(value) : value;
    default:
      if (!(field.type in INT_RANGES)) throw new ShapeError(path, `unsupported field type ${field.type}`);
      return integerValue(toInteger(value, field.type, path), field.type);
  }
}

function normalizeMapKey(keyType: string, key: string, path: string): string {
  if (keyType === 'string') return key;
  if (keyType === 'bool') {
    if (key !== 'true' && key !== 'false') throw new ShapeError(path, `expected a true/false map key, got ${JSON.stringify(key)}`);
    return key;
  }
  return toInteger(key, keyType, path).toString();
}

function compareKeys(keyType: string, a: string, b: string): number {
  if (keyType in INT_RANGES) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks a plain object against the reflection and returns a fresh copy: unknown keys, two
 * members of a oneof, bad enum names and out-of-range integers are errors (protobufjs'
 * fromObject would silently drop or wrap them); floats become their float32 value; map keys are
 * canonical and sorted; null/undefined mean "absent".
 */
function normalizeMessage(type: protobuf.Type, obj: Plain, path: string): Plain {
  const out: Plain = {};
  const oneofSet = new Map<string, string>();
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    const field = type.fields[key];
    if (!field) throw new ShapeError(join(path, key), `Message type "${fullName(type)}" has no field named "${key}"`);
    field.resolve();
    const here = join(path, key);
    if (field.partOf) {
      const other = oneofSet.get(field.partOf.name);
      if (other)
        throw new ShapeError(here, `Field "${key}" is specified along with field "${other}", another member of oneof "${field.partOf.name}"`);
      oneofSet.set(field.partOf.name, key);
    }
    const like = field as unknown as FieldLike;
    if (field.map) {
      if (!isPlainObject(value)) throw new ShapeError(here, `expected a map, got ${describe(value)}`);
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const entries = Object.keys(value).map((k) => [normalizeMapKey(keyType, k, `${here}[${JSON.stringify(k)}]`), k]);
      entries.sort((a, b) => compareKeys(keyType, a[0], b[0]));
      const map: Plain = {};
      for (const [canonical, original] of entries) {
        if (canonical === RESERVED_KEY) throw new ShapeError(`${here}[${JSON.stringify(original)}]`, `map key "${RESERVED_KEY}" is not supported`);
        const v = value[original];
        if (v === undefined || v === null) continue;
        map[canonical] = normalizeScalar(like, v, `${here}[${JSON.stringify(original)}]`);
      }
      out[key] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new ShapeError(here, `expected a list, got ${describe(value)}`);
      out[key] = value.map((v, i) => {
        if (v === undefined || v === null) throw new ShapeError(`${here}[${i}]`, 'list item is empty');
        return normalizeScalar(like, v, `${here}[${i}]`);
      });
    } else {
      out[key] = normalizeScalar(like, value, here);
    }
  }
  return out;
}

function toMessage(config: ModelConfig, file: string): protobuf.Message {
  const type = modelConfigType();
  try {
    if (!isPlainObject(config)) throw new ShapeError('', `expected a map, got ${describe(config)}`);
    return type.fromObject(normalizeMessage(type, config, ''));
  } catch (err) {
    if (err instanceof ShapeError) throw new SpecError([{ file, path: err.path, message: err.message }]);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Message -> plain ModelConfig
// ---------------------------------------------------------------------------------------------

/** Walks toObject's output: 64-bit strings back to numbers where exact, floats to float32 form. */
function tidyObject(type: protobuf.Type, obj: Plain): void {
  for (const key of Object.keys(obj)) {
    const field = type.fields[key];
    if (!field) continue;
    field.resolve();
    const tidy = (v: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) {
        tidyObject(field.resolvedType, v as Plain);
        return v;
      }
      if (field.type === 'float' && typeof v === 'number') return canonicalFloat32(v);
      if (is64(field.type) && typeof v === 'string') return integerValue(BigInt(v), field.type);
      return v;
    };
    const value = obj[key];
    if (field.map) {
      const map = value as Plain;
      for (const k of Object.keys(map)) map[k] = tidy(map[k]);
    } else if (field.repeated) obj[key] = (value as unknown[]).map(tidy);
    else obj[key] = tidy(value);
  }
}

/** A decoded or built `inference.ModelConfig` message as the plain ModelConfig shape. */
export function configFromMessage(message: protobuf.Message): ModelConfig {
  const type = modelConfigType();
  const obj = type.toObject(message, { enums: String, longs: String }) as Plain;
  tidyObject(type, obj);
  return obj as ModelConfig;
}

/** The config as protobuf sees it: defaults of proto3 scalars dropped, enums by name, maps sorted. */
export function canonicalConfig(config: ModelConfig, file = 'config'): ModelConfig {
  return configFromMessage(toMessage(config, file));
}

/** Deterministic wire bytes of the config (map entries sorted by key). */
export function canonicalConfigBytes(config: ModelConfig): Buffer {
  return Buffer.from(modelConfigType().encode(toMessage(config, 'config')).finish());
}

/** Equal as `inference.ModelConfig` messages. */
export function configsEqual(a: ModelConfig, b: ModelConfig): boolean {
  return canonicalConfigBytes(a).equals(canonicalConfigBytes(b));
}

/** config.pbtxt text: fields in field-number order, map keys sorted; the same message gives the same bytes. */
export function toPbtxt(config: ModelConfig, file = 'config.pbtxt'): string {
  const text = toText(modelConfigType(), toMessage(config, file));
  return text ? `${text}\n` : '';
}

// ---------------------------------------------------------------------------------------------
// Text -> ModelConfig: a tokenizer and parser after libprotobuf's io::Tokenizer and TextFormat
// ---------------------------------------------------------------------------------------------

type TokenKind = 'identifier' | 'integer' | 'float' | 'string' | 'symbol' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  col: number;
  /** Decoded bytes of a string literal. */
  bytes?: number[];
}

class ParseError extends Error {
  constructor(
    readonly line: number,
    readonly col: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '?': 63, "'": 39, '"': 34,
};

function pushUtf8(bytes: number[], code: number): void {
  if (code < 0x80) bytes.push(code);
  else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
  else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
}

class Tokenizer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  current: Token;

  constructor(private readonly src: string) {
    this.current = this.read();
  }

  next(): void {
    this.current = this.read();
  }

  private start = 0;

  /** Errors point at the start of the token being read, or at `pos` (an escape) when given. */
  private fail(message: string, pos = this.start): never {
    throw new ParseError(this.line, pos - this.lineStart + 1, '', message);
  }

  private skipSpaceAndComments(): void {
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (ch === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\v' || ch === '\f') this.pos++;
      else if (ch === '#') while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else break;
    }
  }

  private read(): Token {
    this.skipSpaceAndComments();
    const start = (this.start = this.pos);
    const token = (kind: TokenKind, extra?: Partial<Token>): Token => ({
      kind,
      text: this.src.slice(start, this.pos),
      line: this.line,
      col: start - this.lineStart + 1,
      ...extra,
    });
    if (this.pos >= this.src.length) return token('end');
    const ch = this.src[this.pos];
    if (/[A-Za-z_]/.test(ch)) {
      while (this.pos < this.src.length && /[A-Za-z0-9_]/.test(this.src[this.pos])) this.pos++;
      return token('identifier');
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(this.src[this.pos + 1] ?? ''))) return token(this.readNumber(), {});
    if (ch === '"' || ch === "'") {
      const bytes = this.readString(ch);
      return token('string', { bytes });
    }
    if (ch.charCodeAt(0) < 32 || ch.charCodeAt(0) > 126) this.fail(`Invalid character ${JSON.stringify(ch)} in text.`);
    this.pos++;
    return token('symbol');
  }

  private digits(re: RegExp): number {
    const start = this.pos;
    while (this.pos < this.src.length && re.test(this.src[this.pos])) this.pos++;
    return this.pos - start;
  }

  private readNumber(): 'integer' | 'float' {
    const src = this.src;
    let kind: 'integer' | 'float' = 'integer';
    if (src[this.pos] === '0' && /[xX]/.test(src[this.pos + 1] ?? '')) {
      this.pos += 2;
      if (!this.digits(/[0-9A-Fa-f]/)) this.fail('"0x" must be followed by hex digits.');
    } else if (src[this.pos] === '0' && /[0-9]/.test(src[this.pos + 1] ?? '')) {
      this.pos++;
      this.digits(/[0-7]/);
      if (/[89]/.test(src[this.pos] ?? '')) this.fail('Numbers starting with leading zero must be in octal.');
    } else {
      if (src[this.pos] === '.') {
        kind = 'float';
        this.pos++;
        this.digits(/[0-9]/);
      } else {
        this.digits(/[0-9]/);
        if (src[this.pos] === '.') {
          kind = 'float';
          this.pos++;
          this.digits(/[0-9]/);
        }
      }
      if (/[eE]/.test(src[this.pos] ?? '')) {
        kind = 'float';
        this.pos++;
        if (/[+-]/.test(src[this.pos] ?? '')) this.pos++;
        if (!this.digits(/[0-9]/)) this.fail('"e" must be followed by exponent.');
      }
      if (/[fF]/.test(src[this.pos] ?? '')) {
        kind = 'float';
        this.pos++;
      }
    }
    if (/[A-Za-z0-9_.]/.test(src[this.pos] ?? '')) this.fail('Need space between number and identifier.');
    return kind;
  }

  private readString(quote: string): number[] {
    const src = this.src;
    const bytes: number[] = [];
    this.pos++;
    for (;;) {
      if (this.pos >= src.length) this.fail('Unexpected end of string.');
      const ch = src[this.pos];
      if (ch === '\n') this.fail('String literals cannot cross line boundaries.');
      if (ch === quote) {
        this.pos++;
        return bytes;
      }
      if (ch !== '\\') {
        const code = src.codePointAt(this.pos)!;
        pushUtf8(bytes, code);
        this.pos += code > 0xffff ? 2 : 1;
        continue;
      }
      const escapeAt = this.pos;
      const e = src[this.pos + 1] ?? '';
      this.pos += 2;
      if (e in SIMPLE_ESCAPES) bytes.push(SIMPLE_ESCAPES[e]);
      else if (/[0-7]/.test(e)) {
        let value = Number(e);
        for (let i = 0; i < 2 && /[0-7]/.test(src[this.pos] ?? ''); i++) value = value * 8 + Number(src[this.pos++]);
        bytes.push(value & 255);
      } else if (e === 'x' || e === 'X') {
        const start = this.pos;
        if (!this.digitsUpTo(/[0-9A-Fa-f]/, 2)) this.fail('Invalid escape sequence in string literal.', escapeAt);
        bytes.push(parseInt(src.slice(start, this.pos), 16));
      } else if (e === 'u' || e === 'U') {
        const code = this.readUnicodeEscape(e === 'u' ? 4 : 8, escapeAt);
        pushUtf8(bytes, code);
      } else this.fail('Invalid escape sequence in string literal.', escapeAt);
    }
  }

  private digitsUpTo(re: RegExp, max: number): number {
    let n = 0;
    while (n < max && re.test(this.src[this.pos] ?? '')) {
      this.pos++;
      n++;
    }
    return n;
  }

  private readUnicodeEscape(size: number, escapeAt: number): number {
    const hex = this.src.slice(this.pos, this.pos + size);
    if (!new RegExp(`^[0-9A-Fa-f]{${size}}$`).test(hex)) this.fail('Expected four hex digits for \\u escape sequence.', escapeAt);
    this.pos += size;
    let code = parseInt(hex, 16);
    if (code >= 0xd800 && code <= 0xdbff && /^\\u[dD][c-fC-F][0-9A-Fa-f]{2}$/.test(this.src.slice(this.pos, this.pos + 6))) {
      const low = parseInt(this.src.slice(this.pos + 2, this.pos + 6), 16);
      this.pos += 6;
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('Invalid escape sequence in string literal.', escapeAt);
    return code;
  }
}

// ignoreBOM: a leading U+FEFF is string content, not a byte-order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What the parser fills: the plain value per field, and which fields count as set. */
interface Building {
  obj: Plain;
  /** Fields that protoc's `HasField` would report; proto3 scalars only while non-default. */
  has: Set<string>;
  /** Repeated-field counters for key paths. */
  counts: Map<string, number>;
}

/** A map entry parsed as the synthetic `<Field>Entry` message protoc sees. */
function mapEntryFields(field: protobuf.MapField): Record<string, FieldLike> {
  const base = { repeated: false, map: false, partOf: null };
  return {
    key: { ...base, name: 'key', type: field.keyType, resolvedType: null },
    value: { ...base, name: 'value', type: field.type, resolvedType: field.resolvedType as FieldLike['resolvedType'] },
  };
}

function mapEntryTypeName(parent: protobuf.Type, field: protobuf.Field): string {
  const camel = field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_/g, '');
  return `${fullName(parent)}.${camel[0].toUpperCase()}${camel.slice(1)}Entry`;
}

function isDefaultScalar(field: FieldLike, value: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) {
    return (typeof value === 'string' ? field.resolvedType.values[value] : value) === 0;
  }
  if (typeof value === 'number') return value === 0 && !Object.is(value, -0);
  return value === '' || value === false || value === '0';
}

class Parser {
  private readonly tn: Tokenizer;

  constructor(text: string) {
    this.tn = new Tokenizer(text);
  }

  private get tok(): Token {
    return this.tn.current;
  }

  private fail(message: string, path: string, at: Token = this.tok): never {
    throw new ParseError(at.line, at.col, path, message);
  }

  private lookingAt(text: string): boolean {
    return this.tok.kind !== 'string' && this.tok.kind !== 'end' && this.tok.text === text;
  }

  private tryConsume(text: string): boolean {
    if (!this.lookingAt(text)) return false;
    this.tn.next();
    return true;
  }

  private consume(text: string, path: string): void {
    if (!this.tryConsume(text)) this.fail(`Expected "${text}", found "${this.tok.text}".`, path);
  }

  parseTop(type: protobuf.Type): Plain {
    const b = this.parseFields(type, null, '');
    return b.obj;
  }

  /** Fields until `end` (or end of input at the top level). */
  private parseFields(type: protobuf.Type, end: string | null, path: string): Building {
    const b: Building = { obj: {}, has: new Set(), counts: new Map() };
    const fields: Record<string, FieldLike> = {};
    for (const f of type.fieldsArray) fields[f.name] = f.resolve() as unknown as FieldLike;
    // Like protoc: either closer ends the fields, then the matching one is required.
    while (end === null ? this.tok.kind !== 'end' : !this.lookingAt('}') && !this.lookingAt('>')) {
      this.parseField(fields, fullName(type), b, path, (name) => {
        const field = type.fields[name];
        return field ? (field.map ? mapEntryTypeName(type, field) : '') : '';
      });
      if (!this.tryConsume(';')) this.tryConsume(',');
    }
    if (end !== null) this.consume(end, path);
    return b;
  }

  private parseField(
    fields: Record<string, FieldLike>,
    typeName: string,
    b: Building,
    path: string,
    entryTypeName: (name: string) => string,
  ): void {
    const nameTok = this.tok;
    if (this.lookingAt('[')) {
      this.tn.next();
      let name = '';
      while (this.tok.kind !== 'end' && !this.lookingAt(']')) {
        name += this.tok.text;
        this.tn.next();
      }
      this.fail(`Extension "${name}" is not defined or is not an extension of "${typeName}".`, path, nameTok);
    }
    if (nameTok.kind !== 'identifier') this.fail(`Expected identifier, got: ${nameTok.text}`, path);
    const name = nameTok.text;
    const field = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
    const here = join(path, name);
    if (!field) this.fail(`Message type "${typeName}" has no field named "${name}".`, here, nameTok);
    const repeated = field.repeated || field.map;
    if (!repeated && b.has.has(name)) this.fail(`Non-repeated field "${name}" is specified multiple times.`, here, nameTok);
    if (field.partOf) {
      const other = field.partOf.oneof.find((member) => b.has.has(member));
      if (other)
        this.fail(
          `Field "${name}" is specified along with field "${other}", another member of oneof "${field.partOf.name}".`,
          here,
          nameTok,
        );
    }
    this.tn.next();

    const isMessage = field.map || field.resolvedType instanceof protobuf.Type;
    if (isMessage) this.tryConsume(':');
    else this.consume(':', here);

    const one = (): void => {
      const index = b.counts.get(name) ?? 0;
      const at = repeated ? `${here}[${index}]` : here;
      if (repeated) b.counts.set(name, index + 1);
      const value = field.map
        ? this.parseMapEntry(field as unknown as protobuf.MapField, entryTypeName(name), at)
        : isMessage
          ? this.parseMessageValue(field.resolvedType as protobuf.Type, at)
          : this.parseScalar(field, at);
      this.store(field, b, value);
    };
    if (repeated && this.tryConsume('[')) {
      if (!this.tryConsume(']')) {
        for (;;) {
          one();
          if (this.tryConsume(']')) break;
          this.consume(',', here);
        }
      }
    } else one();
  }

  private store(field: FieldLike, b: Building, value: unknown): void {
    if (field.map) {
      const [key, v] = value as [string, unknown];
      const map = (b.obj[field.name] ??= {}) as Plain;
      map[key] = v;
    } else if (field.repeated) ((b.obj[field.name] ??= []) as unknown[]).push(value);
    else {
      b.obj[field.name] = value;
      const hasPresence = field.partOf !== null || field.resolvedType instanceof protobuf.Type;
      if (hasPresence || !isDefaultScalar(field, value)) b.has.add(field.name);
      else b.has.delete(field.name);
    }
  }

  private openMessage(path: string): string {
    if (this.tryConsume('<')) return '>';
    this.consume('{', path);
    return '}';
  }

  private parseMessageValue(type: protobuf.Type, path: string): Plain {
    const end = this.openMessage(path);
    return this.parseFields(type, end, path).obj;
  }

  private parseMapEntry(field: protobuf.MapField, entryTypeName: string, path: string): [string, unknown] {
    const start = this.tok;
    const end = this.openMessage(path);
    const fields = mapEntryFields(field);
    const b: Building = { obj: {}, has: new Set(), counts: new Map() };
    while (!this.lookingAt('}') && !this.lookingAt('>')) {
      this.parseField(fields, entryTypeName, b, path, () => '');
      if (!this.tryConsume(';')) this.tryConsume(',');
    }
    this.consume(end, path);
    const key = b.obj.key ?? (field.keyType === 'string' ? '' : field.keyType === 'bool' ? false : 0);
    let value = b.obj.value;
    if (value === undefined) {
      const vt = field.resolvedType;
      value = vt instanceof protobuf.Type ? {} : vt instanceof protobuf.Enum ? (vt.valuesById[0] ?? 0) : defaultScalar(field.type);
    }
    if (key === RESERVED_KEY) this.fail(`map key "${RESERVED_KEY}" is not supported`, path, start);
    return [String(key), value];
  }

  private parseScalar(field: FieldLike, path: string): unknown {
    const tok = this.tok;
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      if (tok.kind === 'identifier') {
        if (resolved.values[tok.text] === undefined)
          this.fail(`Unknown enumeration value of "${tok.text}" for field "${field.name}".`, path);
        this.tn.next();
        return tok.text;
      }
      if (tok.kind === 'integer' || this.lookingAt('-')) {
        const n = Number(this.consumeInteger('int32', path));
        return resolved.valuesById[n] ?? n;
      }
      this.fail(`Expected integer or identifier, got: ${tok.text}`, path);
    }
    switch (field.type) {
      case 'string':
        return this.consumeString(field, path);
      case 'bool':
        return this.consumeBool(field, path);
      case 'float':
      case 'double': {
        const v = this.consumeDouble(path);
        return field.type === 'float' ? canonicalFloat32(v) : v;
      }
      default:
        return integerValue(this.consumeInteger(field.type, path), field.type);
    }
  }

  private consumeString(field: FieldLike, path: string): string {
    const first = this.tok;
    if (first.kind !== 'string') this.fail(`Expected string, got: ${first.text}`, path);
    // Adjacent literals concatenate. No push(...bytes): spreading a long string's bytes as
    // arguments overflows the stack (a 120 KB string did).
    const parts: Uint8Array[] = [];
    while (this.tok.kind === 'string') {
      parts.push(Uint8Array.from(this.tok.bytes!));
      this.tn.next();
    }
    try {
      return utf8.decode(Buffer.concat(parts));
    } catch {
      this.fail(`String field "${field.name}" contains invalid UTF-8 data.`, path, first);
    }
  }

  private consumeBool(field: FieldLike, path: string): boolean {
    const tok = this.tok;
    if (tok.kind === 'integer') return this.consumeUnsigned(1n, path) === 1n;
    if (tok.kind !== 'identifier') this.fail(`Expected identifier, got: ${tok.text}`, path);
    if (['true', 'True', 't'].includes(tok.text) || ['false', 'False', 'f'].includes(tok.text)) {
      this.tn.next();
      return tok.text.startsWith('t') || tok.text.startsWith('T');
    }
    this.fail(`Invalid value for boolean field "${field.name}". Value: "${tok.text}".`, path);
  }

  private consumeUnsigned(max: bigint, path: string): bigint {
    const tok = this.tok;
    if (tok.kind !== 'integer') this.fail(`Expected integer, got: ${tok.text}`, path);
    const value = parseIntegerText(tok.text);
    if (value > max) this.fail(`Integer out of range (${tok.text})`, path);
    this.tn.next();
    return value;
  }

  private consumeInteger(type: string, path: string): bigint {
    const [min, max] = INT_RANGES[type];
    if (min < 0n && this.tryConsume('-')) return -this.consumeUnsigned(-min, path);
    return this.consumeUnsigned(max, path);
  }

  private consumeDouble(path: string): number {
    const negative = this.tryConsume('-');
    const tok = this.tok;
    let value: number;
    if (tok.kind === 'integer') {
      if (/^0[xX]|^0[0-7]/.test(tok.text)) this.fail(`Expect a decimal number, got: ${tok.text}`, path);
      value = Number(tok.text);
    } else if (tok.kind === 'float') value = Number(tok.text.replace(/[fF]$/, ''));
    else if (tok.kind === 'identifier' && ['inf', 'infinity'].includes(tok.text.toLowerCase())) value = Infinity;
    else if (tok.kind === 'identifier' && tok.text.toLowerCase() === 'nan') value = NaN;
    else this.fail(`Expected double, got: ${tok.text}`, path);
    this.tn.next();
    return negative ? -value : value;
  }
}

function parseIntegerText(text: string): bigint {
  if (/^0[xX]/.test(text)) return BigInt(text);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  return BigInt(text);
}

function defaultScalar(type: string): unknown {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  return 0;
}

/**
 * Parses config.pbtxt text as libprotobuf's TextFormat does (unknown fields, unknown enum names,
 * a non-repeated field twice and two members of a oneof are errors). Throws SpecError with
 * `file:line:col: path: message`.
 */
export function parsePbtxt(text: string, file: string): ModelConfig {
  const type = modelConfigType();
  let plain: Plain;
  try {
    plain = new Parser(text).parseTop(type);
  } catch (err) {
    if (err instanceof ParseError) throw new SpecError([{ file, line: err.line, col: err.col, path: err.path, message: err.message }]);
    throw err;
  }
  return canonicalConfig(plain as ModelConfig, file);
}
