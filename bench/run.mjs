// `npm run bench`: the benchmarks below, each a ratio against a baseline measured in the same run.
//   BENCH_RUNS=n   runs per measurement (default 5; the slow ones use fewer)
//   BENCH_ONLY=1,3 run only these benchmarks
//   BENCH_KEEP=1   keep bench/.work (generated models, workspaces) for the next run
// Prints one table at the end and writes bench/results.json.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchDir, fmtMs, log, remove, runs, workDir, ensureDir } from './lib/util.mjs';

const BENCHMARKS = [
  { id: '1', title: 'no-op build of 100 cached models', load: () => import('./b1-noop-build.mjs') },
  { id: '2', title: 'project graph of 1,000 models', load: () => import('./b2-project-graph.mjs') },
  { id: '3', title: 'inspect a 1 GiB ONNX', load: () => import('./b3-inspect.mjs') },
  { id: '4', title: 'engine store hit for a 1 GiB ONNX', load: () => import('./b4-engine-hit.mjs') },
  { id: '5', title: 'cold build of a 2 GiB ONNX model', load: () => import('./b5-cold-build.mjs') },
  { id: '6', title: 'fidelity gate on a resnet18 export', load: () => import('./b6-verify-gate.mjs') },
  { id: '7', title: 'side by side with hermes.quiver (MLP + resnet18)', load: () => import('./b7-vs-hermes.mjs') },
  { id: '8', title: 'nx-triton deploy vs aws s3 sync to the same SeaweedFS', load: () => import('./b8-deploy.mjs') },
  { id: '9', title: 'tune a model whose every call costs 20 ms', load: () => import('./b9-tune.mjs') },
];

function selected() {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  return only?.length ? BENCHMARKS.filter((b) => only.includes(b.id)) : BENCHMARKS;
}

function fmtRatio(x) {
  return `${x < 0.001 ? x.toExponential(1) : x.toFixed(x < 0.1 ? 4 : 2)}x`;
}

/** A time in ms, or a value in the row's own unit (`unit: 'infer/s'`). */
function fmtValue(x, unit) {
  return unit ? `${x.toFixed(1)} ${unit}` : fmtMs(x);
}

function table(rows) {
  const head = ['#', 'benchmark', 'ours (median)', 'baseline (median)', 'ratio', 'goal', 'result'];
  const body = rows.map((r) =>
    r.error
      ? [r.id, r.name, '-', '-', '-', r.goal ?? '-', `ERROR: ${r.error.split('\n')[0]}`]
      : [r.id, r.name, fmtValue(r.ours, r.unit), fmtValue(r.baseline, r.unit), fmtRatio(r.ratio), r.goal, r.met === null ? 'info' : r.met ? 'met' : 'MISSED'],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  const notes = rows.filter((r) => r.extra).map((r) => `  ${r.id}: ${r.extra}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

async function main() {
  const started = Date.now();
  ensureDir(workDir);
  log(`BENCH_RUNS=${runs()} (slow measurements: ${runs(3)}); ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; work dir ${workDir}`);
  const rows = [];
  for (const b of selected()) {
    const t = Date.now();
    log(`${b.id}: ${b.title}`);
    try {
      const mod = await b.load();
      rows.push(...(await mod.bench()));
    } catch (err) {
      log(`${b.id} failed: ${err?.stack ?? err}`);
      rows.push({ id: b.id, name: b.title, error: String(err?.message ?? err) });
    }
    log(`${b.id}: done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  // results.json keeps the latest figures of every benchmark, each with its date: a run of some
  // (BENCH_ONLY) replaces theirs and keeps the others'.
  const file = join(benchDir, 'results.json');
  const date = new Date().toISOString();
  let previous = { results: [] };
  try {
    previous = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // none yet, or unreadable: start afresh
  }
  const benchOf = (id) => /^\d+/.exec(String(id))?.[0];
  const ran = new Set(selected().map((b) => b.id));
  const kept = (previous.results ?? []).filter((r) => !ran.has(benchOf(r.id))).map((r) => ({ date: previous.date, machine: previous.machine, ...r }));
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const results = {
    command: 'npm run bench',
    runs: runs(),
    seconds: Math.round((Date.now() - started) / 1000),
    results: [...kept, ...rows.map((r) => ({ date, machine, ...r }))].sort((a, b) => Number(benchOf(a.id)) - Number(benchOf(b.id)) || String(a.id).localeCompare(String(b.id))),
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  // bench/.work/venv (benchmark 7's Python) is kept: it takes minutes to make.
  if (process.env.BENCH_KEEP !== '1') for (const entry of readdirSync(workDir)) if (entry !== 'venv') remove(join(workDir, entry));
  process.stdout.write(`\n${table(rows)}\n\ntotal ${results.seconds} s; results in bench/results.json\n`);
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

await main();
