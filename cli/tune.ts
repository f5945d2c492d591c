import { resolve } from 'node:path';
import { UserError } from '../lib/errors';
import { tuneDir } from '../lib/layout';
import { parseTuneSettings, runTune, TUNE_DEFAULTS, type TuneSettings } from '../lib/targets/tune';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton tune <repository> --model NAME [--spec triton.yaml] [--out DIR]
                      [--concurrency ${TUNE_DEFAULTS.concurrency.join(',')}] [--latencyBudgetMs ${TUNE_DEFAULTS.latencyBudgetMs}] [--objective throughput|latency]
                      [--maxCandidates ${TUNE_DEFAULTS.maxCandidates}] [--measurementIntervalMs ${TUNE_DEFAULTS.measurementIntervalMs}] [--dryRun]
                      [--tritonserver PATH] [--perf-analyzer PATH] [--python PATH]
Measures serving configs of one built model of the repository (instance count, dynamic batching,
preferred batch sizes, queue delay, max_batch_size) with perf_analyzer on a tritonserver of its own
on 127.0.0.1, prints a table, and writes report.md, report.svg and report.json to --out (default
dist/models/NAME/tune). With --spec, the winner's keys go into that triton.yaml (not with --dryRun).
Exits 1 when no candidate keeps p99 within the budget. Options also take the kebab-case spelling
(--latency-budget-ms, --max-candidates, --measurement-interval-ms, --dry-run). perf_analyzer:
--perf-analyzer, env NX_TRITON_PERF_ANALYZER, PATH, or the tritonclient of --python.`;

/** The camelCase spelling of each setting and its kebab-case alias. */
const SETTINGS: ReadonlyArray<[keyof TuneSettings, string]> = [
  ['concurrency', 'concurrency'],
  ['latencyBudgetMs', 'latency-budget-ms'],
  ['objective', 'objective'],
  ['maxCandidates', 'max-candidates'],
  ['measurementIntervalMs', 'measurement-interval-ms'],
];

/** `nx-triton tune`: 0 when a winner within the budget was found (and written with --spec), 1 otherwise. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    model: { type: 'string' },
    spec: { type: 'string' },
    out: { type: 'string' },
    dryRun: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    tritonserver: { type: 'string' },
    'perf-analyzer': { type: 'string' },
    python: { type: 'string' },
  };
  for (const [camel, kebab] of SETTINGS) options[camel] = options[kebab] = { type: 'string' };
  const parsed = parseVerb(argv, { verb: 'tune', usage: USAGE, expected: 'one repository directory', options }, io);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (typeof values.model !== 'string' || values.model === '') {
    io.err(`nx-triton tune: --model NAME is required (the model of the repository to tune)\n${USAGE}\n`);
    return 2;
  }
  const raw: Record<string, unknown> = {};
  for (const [camel, kebab] of SETTINGS) {
    const value = values[camel] ?? values[kebab];
    if (value !== undefined) raw[camel] = value;
  }
  const flagOf = (key: keyof TuneSettings): string => `--${key}`;
  try {
    const settings = parseTuneSettings(raw, flagOf);
    const cwd = process.cwd();
    await runTune(
      {
        ...settings,
        repository: resolve(parsed.positional),
        model: values.model,
        specFile: typeof values.spec === 'string' ? resolve(values.spec) : undefined,
        outDir: typeof values.out === 'string' ? resolve(values.out) : tuneDir(cwd, values.model),
        dryRun: values.dryRun === true || values['dry-run'] === true,
        tritonserver: values.tritonserver as string | undefined,
        perfAnalyzer: values['perf-analyzer'] as string | undefined,
        python: values.python as string | undefined,
        cwd,
      },
      { log: (line) => io.out(`${line}\n`) },
    );
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`${err.message.startsWith('nx-triton') ? '' : 'nx-triton tune: '}${err.message}\n`);
    return 1;
  }
}
