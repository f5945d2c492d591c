import { describeError, formatDiagnostic, UserError } from '../lib/errors';
import { checkRepository } from '../lib/repository/validate-repository';

const USAGE = 'usage: nx-triton validate <repository> [--config-only] [--json]';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * `nx-triton validate <repository> [--config-only] [--json]`: one line per problem
 * (`<model>/config.pbtxt: <field path>: <problem>`). 0 when Triton would load every model,
 * 1 when any problem, 2 on a usage error.
 */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  let json = false;
  let configOnly = false;
  const dirs: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--config-only') configOnly = true;
    else if (arg === '--help' || arg === '-h') {
      io.out(`${USAGE}\n`);
      return 0;
    } else if (arg.startsWith('-')) {
      io.err(`nx-triton validate: unknown option ${arg}\n${USAGE}\n`);
      return 2;
    } else dirs.push(arg);
  }
  if (dirs.length !== 1) {
    io.err(`nx-triton validate: expected one repository directory, got ${dirs.length}\n${USAGE}\n`);
    return 2;
  }
  let report;
  try {
    report = await checkRepository(dirs[0], { configOnly });
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton validate: ${describeError(err)}\n`);
    return 2;
  }
  const { models, problems } = report;
  if (json) {
    io.out(`${JSON.stringify({ ok: problems.length === 0, models, problems }, null, 2)}\n`);
  } else if (problems.length === 0) {
    io.out(`ok: ${models.length} model${models.length === 1 ? '' : 's'}\n`);
  } else {
    for (const p of problems) {
      io.out(`${formatDiagnostic({ file: `${p.model}/config.pbtxt`, line: p.line, col: p.col, path: p.path, message: p.message })}\n`);
    }
    const bad = new Set(problems.map((p) => p.model)).size;
    io.err(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${bad} of ${models.length} models\n`);
  }
  return problems.length === 0 ? 0 : 1;
}
