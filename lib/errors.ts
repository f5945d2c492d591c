/**
 * Errors meant for the user: adapters (executors, CLI, generators) print `message` alone,
 * never a stack trace. Anything else that escapes is a bug in nx-triton.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
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
  return d.path ? `${where}: ${d.path}: ${d.message}` : `${where}: ${d.message}`;
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
