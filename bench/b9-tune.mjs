// 9. Tuning, on the model of the tune tests (test/fixtures/sleepy: a python model whose every call
//    costs 20 ms, one CPU instance, no dynamic batching) in a workspace with the packed tarball: how
//    long `nx run sleepy:tune` takes, and the throughput of the config it wrote against the built one
//    at the same concurrency, as perf_analyzer measured both (report.json; e2e/tune.e2e.ts checks the
//    same with its own client). 9a/9b: the default options (concurrency 1,8,32, p99 budget 50 ms,
//    10 candidates at most); 9c/9d: the e2e's (concurrency 16, budget 150 ms). One run each.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, repoRoot } from './lib/util.mjs';
import { createWorkspace } from './lib/workspace.mjs';

const GOAL_SECONDS = 180;
const GOAL_RATIO = 4;
const fixture = (file) => readFileSync(join(repoRoot, 'test', 'fixtures', 'sleepy', file), 'utf8');

function rows(ids, label, tune, report, concurrency) {
  const at = (c) => c.points.find((p) => p.concurrency === concurrency);
  const built = report.candidates[0];
  const winner = report.candidates.find((c) => c.id === report.winner);
  if (!winner) throw new Error(`tune (${label}) found no winner: ${report.outcome}`);
  const [before, after] = [at(built), at(winner)];
  const ratio = after.throughput / before.throughput;
  const written = report.changes.map((c) => `${c.path.join('.')}: ${JSON.stringify(c.value ?? 'removed')}`).join(', ');
  return [
    {
      id: ids[0],
      name: `nx run sleepy:tune ${label}: ${report.candidates.length} candidates, vs the 3-minute goal`,
      ours: tune.ms,
      baseline: GOAL_SECONDS * 1000,
      ratio: tune.ms / (GOAL_SECONDS * 1000),
      goal: '<= 1x',
      met: tune.ms <= GOAL_SECONDS * 1000,
      extra: `winner #${winner.id} ${winner.config}; written: ${written}`,
    },
    {
      id: ids[1],
      name: `throughput at concurrency ${concurrency} (perf_analyzer), ${label}: the tuned config vs the built one`,
      ours: after.throughput,
      baseline: before.throughput,
      unit: 'infer/s',
      ratio,
      goal: `>= ${GOAL_RATIO}x`,
      met: ratio >= GOAL_RATIO,
      extra: `p99 ${before.p99Ms.toFixed(1)} ms -> ${after.p99Ms.toFixed(1)} ms (budget ${report.options.latencyBudgetMs} ms)`,
    },
  ];
}

export async function bench() {
  const spec = 'models/sleepy/triton.yaml';
  const ws = createWorkspace('b9', {
    plugins: [{ plugin: 'nx-triton', options: {} }],
    files: { [spec]: fixture('triton.yaml'), 'models/sleepy/model.py': fixture('model.py') },
  });
  try {
    const env = { NX_TRITON_PYTHON: join(repoRoot, '.venv', 'bin', 'python') };
    // The build first, untimed: tune's dependency is then a cache hit.
    ws.nx(['run', 'sleepy:build'], env);
    const tune = (label, args) => {
      writeFileSync(join(ws.root, spec), fixture('triton.yaml'));
      log(`9: nx run sleepy:tune ${args.join(' ')}`);
      const t = ws.nx(['run', 'sleepy:tune', ...args], env);
      return { t, report: JSON.parse(readFileSync(join(ws.root, 'dist/models/sleepy/tune/report.json'), 'utf8')) };
    };
    const byDefault = tune('with the defaults', []);
    const e2e = tune('--concurrency=16 --latencyBudgetMs=150', ['--concurrency=16', '--latencyBudgetMs=150']);
    return [
      ...rows(['9a', '9b'], 'with the defaults', byDefault.t, byDefault.report, 32),
      ...rows(['9c', '9d'], '--concurrency=16 --latencyBudgetMs=150', e2e.t, e2e.report, 16),
    ];
  } finally {
    ws.remove();
  }
}
