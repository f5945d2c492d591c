/** Tokens -> ModelConfig, after libprotobuf's `TextFormat::Parser` (its rules and messages, with line and column). */
import * as protobuf from 'protobufjs';
import { SpecError } from '../../lib/errors';
import type { ModelConfig } from '../../lib/model-config';
import { INT_RANGES, modelConfigType } from '../model-config';
import { canonicalFloat32, fullName, integerValue, type FieldLike, type Plain } from './common';
import { ownValue, setOwn } from '../../lib/model-config';
import { canonicalConfig, join } from './normalize';
import { ParseError, Tokenizer, type Token } from './tokenize';

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
        const field = ownValue(type.fields, name);
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
      setOwn(map, key, v); // "__proto__" is a key like any other (protoc takes it)
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
    return [String(key), value];
  }

  private parseScalar(field: FieldLike, path: string): unknown {
    const tok = this.tok;
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      if (tok.kind === 'identifier') {
        if (ownValue(resolved.values, tok.text) === undefined)
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
