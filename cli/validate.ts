import { describeError, formatDiagnostic, UserError } from '../lib/errors';
import { checkRepository } from '../lib/repository/validate-repository';
import { tritonReleaseProblem } from '../lib/releases/triton';
import { parseOneArg, processIo, type Io } from './args';

const USAGE = 'usage: nx-triton validate <repository> [--config-only] [--json] [--triton-release YY.MM]';

/**
 * `nx-triton validate <repository> [--config-only] [--json]`: one line per problem
 * (`<model>/config.pbtxt: <field path>: <problem>`, `warning: ` before what Triton loads anyway).
 * 0 when Triton would load every model (warnings or not), 1 when any problem, 2 on a usage error.
 */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  // --triton-release takes a value (`--triton-release 24.08` or `--triton-release=24.08`): checked here, the rest by parseOneArg.
  const rest: string[] = [];
  let tritonRelease: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--triton-release(?:=(.*))?$/.exec(argv[i]);
    if (!m) rest.push(argv[i]);
    else tritonRelease = m[1] ?? argv[++i] ?? '';
  }
  const releaseProblem = tritonRelease === undefined ? undefined : tritonReleaseProblem(tritonRelease);
  if (releaseProblem) {
    io.err(`nx-triton validate: --triton-release: ${releaseProblem}\n${USAGE}\n`);
    return 2;
  }
  const parsed = parseOneArg(rest, { verb: 'validate', usage: USAGE, flags: ['--json', '--config-only'], expected: 'one repository directory' }, io);
  if (typeof parsed === 'number') return parsed;
  const { arg: dir, flags } = parsed;
  let report;
  try {
    report = await checkRepository(dir, { configOnly: flags.has('--config-only'), tritonRelease });
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton validate: ${describeError(err)}\n`);
    return 2;
  }
  const { models, problems } = report;
  const errors = problems.filter((p) => !p.warning);
  if (flags.has('--json')) {
    io.out(`${JSON.stringify({ ok: errors.length === 0, models, problems }, null, 2)}\n`);
  } else {
    for (const p of problems) {
      const message = p.warning ? `warning: ${p.message}` : p.message;
      io.out(`${formatDiagnostic({ file: `${p.model}/config.pbtxt`, line: p.line, col: p.col, path: p.path, message })}\n`);
    }
    if (errors.length === 0) io.out(`ok: ${models.length} model${models.length === 1 ? '' : 's'}${warnings(problems.length)}\n`);
    else {
      const bad = new Set(errors.map((p) => p.model)).size;
      io.err(`${errors.length} problem${errors.length === 1 ? '' : 's'} in ${bad} of ${models.length} models${warnings(problems.length - errors.length)}\n`);
    }
  }
  return errors.length === 0 ? 0 : 1;
}

function warnings(n: number): string {
  return n === 0 ? '' : ` (${n} warning${n === 1 ? '' : 's'})`;
}
