/**
 * Errors meant for the user: adapters (executors, CLI, generators) print `message` alone,
 * never a stack trace. Anything else that escapes is a bug in nx-triton.
 */
export class UserError extends Error {
  constructor(message: string) {
    // Names from files may hold controls that rewrite the terminal: escaped wherever the message goes.
    super(printable(message));
    this.name = 'UserError';
  }
}

/** One problem at a place in a file: `<file>:<line>:<col>: <path>: <message>`. */
export interface Diagnostic {
  file: string;
  /** 1-based; absent when the problem has no single place (e.g. a missing key). */
  line?: number;
  col?: number;
  /** Key path such as `instance_group[0].kind`; empty for the whole file. */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line !== undefined ? `${d.file}:${d.line}:${d.col ?? 1}` : d.file;
  return printable(d.path ? `${where}: ${d.path}: ${d.message}` : `${where}: ${d.message}`);
}

/**
 * Characters that hide, rewrite or reorder text when printed: C0 controls, DEL, C1 controls (a raw
 * U+009B is a terminal's CSI), the bidi embeddings, overrides, isolates and marks, and the line and
 * paragraph separators. Names from files (models, tensors, directories) may hold any of them.
 */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Whether `text` holds a character of CONTROLS (tab and newline included). */
export function hasControlChars(text: string): boolean {
  CONTROLS.lastIndex = 0;
  return CONTROLS.test(text);
}

/**
 * `text` as it may be printed: every CONTROLS character but newline and tab as a `\uXXXX` escape.
 * Applied where messages and log lines leave nx-triton (SpecError lines, the executors, the CLI).
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, (c) => (c === '\n' || c === '\t' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A bad triton.yaml (or config.pbtxt): every problem found, one line each. */
export class SpecError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'SpecError';
  }
}

/** The text to show for any thrown value: the message of ours, a one-line summary otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
