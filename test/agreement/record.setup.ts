import { appendFileSync, cpSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect, vi } from 'vitest';

/**
 * Setup file of the recording run (record.config.mts): every call our validate tests make to the
 * rules and to the repository checker is written to $NX_TRITON_RECORD_DIR/cases.jsonl with what
 * the rules answered, and each directory they check is copied there as it was at the call. The
 * agreement test then puts each recorded case through the real tritonserver.
 */
const out = process.env.NX_TRITON_RECORD_DIR!;
let copies = 0;

function record(entry: Record<string, unknown>): void {
  appendFileSync(join(out, 'cases.jsonl'), `${JSON.stringify({ test: expect.getState().currentTestName, ...entry })}\n`);
}

/** A copy of `dir` under the record dir (symlinks kept as links), named by a counter. */
function snapshot(dir: string): string {
  const to = join(out, 'dirs', `${process.pid}-${copies++}`);
  mkdirSync(to, { recursive: true });
  try {
    cpSync(dir, to, { recursive: true, verbatimSymlinks: true });
  } catch {
    // A directory that is not there is a case too: the copy stays empty.
  }
  return to;
}

vi.mock('../../lib/repository/rules/index', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/repository/rules/index')>();
  return {
    ...real,
    checkModelConfig: (config: never, ctx: { dirName?: string } = {}) => {
      const problems = real.checkModelConfig(config, ctx);
      record({ kind: 'config', config, dirName: ctx.dirName, problems });
      return problems;
    },
    checkEnsemble: (config: never, members: Map<string, unknown>, versions?: Map<string, number[]>) => {
      const problems = real.checkEnsemble(config, members as never, versions);
      record({ kind: 'ensemble', config, members: [...members.entries()], versions: versions ? [...versions.entries()] : undefined, problems });
      return problems;
    },
    checkModelFiles: async (dir: string, config: never, opts?: { configOnly?: boolean }) => {
      const copy = snapshot(dir);
      const problems = await real.checkModelFiles(dir, config, opts);
      record({ kind: 'files', dir: copy, dirName: basename(dir), config, opts, problems });
      return problems;
    },
  };
});

vi.mock('../../lib/repository/validate-repository', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/repository/validate-repository')>();
  const checkRepository: typeof real.checkRepository = async (dir, opts) => {
    const copy = snapshot(dir);
    const report = await real.checkRepository(dir, opts);
    record({ kind: 'repository', dir: copy, opts, report });
    return report;
  };
  return { ...real, checkRepository, validateRepository: async (dir: string, opts?: { configOnly?: boolean }) => (await checkRepository(dir, opts)).problems };
});
