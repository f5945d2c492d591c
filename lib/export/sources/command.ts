import { UserError } from '../../errors';
import type { ModelSpec } from '../../model-spec/types';
import { describeExit, runProcess } from '../../system/process';
import { exportError } from '../where';
import type { ExportSource } from './source';

/**
 * The argv of `export.command` with `{output}` replaced by the path it must write and `{python}`
 * by the configured interpreter; every argument stays one literal argument (no shell).
 */
export function commandArgv(command: string[], output: string, python: string): string[] {
  // One pass: a value that itself holds "{python}" or "{output}" (a checkout path) is never substituted again.
  const values: Record<string, string> = { '{output}': output, '{python}': python };
  return command.map((arg) => arg.replace(/\{output\}|\{python\}/g, (token) => values[token]));
}

/** Runs `export.command` in the project directory. */
export async function exportCommand(
  spec: ModelSpec,
  command: string[],
  output: string,
  python: string,
  onLine: (line: string) => void,
): Promise<void> {
  if (command.length === 0 || !command[0]) throw exportError(spec, 'export.command', 'expected a non-empty argv list');
  const [file, ...args] = commandArgv(command, output, python);
  const result = await runProcess(file, args, { cwd: spec.dir, onLine });
  if (result.spawnError) {
    const why = result.spawnError === 'ENOENT' ? 'not found' : `could not be started (${result.spawnError})`;
    throw exportError(spec, 'export.command', `${JSON.stringify(command[0])} ${why} (run from ${spec.dir})`);
  }
  if (result.exitCode !== 0) {
    const tail = result.tail.length ? `; its last output:\n${result.tail.join('\n')}` : ' with no output';
    throw new UserError(
      `${exportError(spec, 'export.command', `${JSON.stringify(command[0])} ${describeExit(result)}`).message}${tail}`,
    );
  }
}

function shorten(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `export.command`: the user's own program writes the model file. */
export const commandSource: ExportSource<string[]> = {
  async run({ spec, source, output, python, onLine }) {
    await exportCommand(spec, source, output, python, onLine);
    return { what: `command ${shorten(source.join(' '))}`, key: 'export.command', gated: false };
  },
};
