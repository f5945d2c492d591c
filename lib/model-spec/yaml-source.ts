import { Document, LineCounter, parseDocument, visit, YAMLError } from 'yaml';
import type { Diagnostic } from '../errors';

/** A triton.yaml is a few kilobytes; anything near this limit is not one. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** Aliases allowed per expansion, as the yaml package counts them (toJS `maxAliasCount`). */
const MAX_ALIAS_COUNT = 100;

export interface ParsedYaml {
  doc: Document;
  lines: LineCounter;
}

/** Text of the file, or the diagnostic saying why it is not UTF-8 text of a sane size. */
export function decodeSpec(input: string | Uint8Array, file: string): string | Diagnostic {
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > MAX_SPEC_BYTES) return tooLarge(file, Buffer.byteLength(input, 'utf8'));
    return input;
  }
  if (input.length > MAX_SPEC_BYTES) return tooLarge(file, input.length);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    const at = firstInvalidUtf8(input);
    const before = new TextDecoder('utf-8').decode(input.subarray(0, at));
    const lineStart = before.lastIndexOf('\n') + 1;
    return {
      file,
      line: before.split('\n').length,
      col: [...before.slice(lineStart)].length + 1,
      path: '',
      message: `the file is not UTF-8 text (invalid byte 0x${input[at].toString(16).padStart(2, '0')} at offset ${at})`,
    };
  }
}

function tooLarge(file: string, bytes: number): Diagnostic {
  return { file, line: 1, col: 1, path: '', message: `the file is ${bytes} bytes; a triton.yaml may be at most ${MAX_SPEC_BYTES} bytes (1 MiB)` };
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) n = 0;
    else if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return i;
}

/** The YAML document with positions, or every syntax problem found. */
export function parseYaml(text: string, file: string): ParsedYaml | Diagnostic[] {
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, {
      lineCounter: lines,
      keepSourceTokens: true,
      prettyErrors: false,
      uniqueKeys: false, // duplicates are reported by the walk, with both lines
      intAsBigInt: true, // exact 64-bit integers
      version: '1.2',
      schema: 'core',
      merge: false,
      strict: true,
    });
  } catch (err) {
    return [{ file, line: 1, col: 1, path: '', message: `the YAML cannot be parsed (${err instanceof RangeError ? 'nested too deeply' : 'internal parser error'})` }];
  }
  const problems: YAMLError[] = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) return problems.map((e) => yamlDiagnostic(e, lines, file));
  const selfAlias = selfReferencingAlias(doc);
  if (selfAlias !== undefined) {
    const at = lines.linePos(selfAlias);
    return [{ file, line: at.line, col: at.col, path: '', message: 'an alias refers to a node that contains it (an endless value)' }];
  }
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError || err instanceof RangeError) {
      const at = lines.linePos(firstAliasOffset(doc));
      return [{ file, line: at.line, col: at.col, path: '', message: `too many YAML aliases: the file would expand to a huge document (an alias bomb?)` }];
    }
    return [{ file, line: 1, col: 1, path: '', message: `the YAML cannot be read (${err instanceof Error ? err.message : String(err)})` }];
  }
  return { doc, lines };
}

/** Offset of an alias inside the very node it names (`&x [*x]`), if any. */
function selfReferencingAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node, path) {
      const target = node.resolve(doc);
      if (target && (path as readonly unknown[]).includes(target)) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      }
    },
  });
  return offset;
}

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function yamlDiagnostic(err: YAMLError, lines: LineCounter, file: string): Diagnostic {
  const { line, col } = lines.linePos(err.pos[0]);
  const message = err.message.split('\n')[0].replace(/\s+$/, '');
  return { file, line, col, path: '', message: `YAML ${err.name === 'YAMLWarning' ? 'warning' : 'syntax error'}: ${message}` };
}
