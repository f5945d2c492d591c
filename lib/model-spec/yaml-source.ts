import { Document, LineCounter, parseDocument, visit, YAMLError } from 'yaml';
import type { Diagnostic } from '../errors';
import { decodeUtf8, notUtf8Message } from '../system/text';

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
  const text = decodeUtf8(input);
  if (typeof text === 'string') return text;
  return { file, line: text.line, col: text.col, path: '', message: notUtf8Message(text) };
}

function tooLarge(file: string, bytes: number): Diagnostic {
  return { file, line: 1, col: 1, path: '', message: `the file is ${bytes} bytes; a triton.yaml may be at most ${MAX_SPEC_BYTES} bytes (1 MiB)` };
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
