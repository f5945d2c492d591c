import { cpus } from 'node:os';
import { describeKnobs } from './candidates';
import { withinBudget, type Point } from './score';
import type { Candidate } from './search';
import type { TuneRun } from './tune';
import { changeText, type YamlChange } from './write-back';

/** What became of the winner: where it went, or why nowhere. */
export interface Outcome {
  /**
   * written: triton.yaml edited; dry-run: it would have been; unchanged: the built config won;
   * no-spec: no triton.yaml to write (the CLI without --spec); over-budget: no candidate within it.
   */
  kind: 'written' | 'dry-run' | 'unchanged' | 'no-spec' | 'over-budget';
  /** The winner (over-budget: the best found). */
  best: Candidate;
  changes: YamlChange[];
  /** Changes triton.yaml cannot take, each with why. */
  skipped: Array<{ change: YamlChange; why: string }>;
  /** triton.yaml as shown in messages. */
  specFile?: string;
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(p: Point | undefined, budgetMs: number): string {
  if (!p) return '-';
  if (p.status !== 'ok') return p.status;
  const mark = withinBudget(p, budgetMs) ? '' : p.failures > 0 ? ` (${p.failures} failed)` : ' (over)';
  return `${fmt(p.throughput)}/s p99 ${fmt(p.p99Ms)} ms${mark}`;
}

function verdict(c: Candidate, winner: number | undefined): string {
  if (c.measured.loadError) return 'not loaded';
  if (c.id === winner) return 'WINNER';
  return c.score.qualifies ? 'within budget' : 'over budget';
}

interface Table {
  head: string[];
  rows: string[][];
}

function resultTable(run: TuneRun, winner: number | undefined): Table {
  const cs = run.options.concurrency;
  const head = ['#', 'config', 'change (from #)', ...cs.map((c) => `c=${c}`), 'verdict'];
  const rows = run.search.candidates.map((c) => [
    String(c.id),
    describeKnobs(c.knobs),
    c.from ? `${c.change} (#${c.from})` : c.change,
    ...cs.map((conc) => (c.measured.loadError ? '-' : cell(c.measured.points.find((p) => p.concurrency === conc), run.options.latencyBudgetMs))),
    verdict(c, winner),
  ]);
  return { head, rows };
}

/** The table for the terminal: aligned columns. */
export function formatTable(run: TuneRun, winner: number | undefined): string {
  const { head, rows } = resultTable(run, winner);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdEscape(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The sentence that says what happened to triton.yaml. */
export function outcomeLines(run: TuneRun, outcome: Outcome): string[] {
  const best = outcome.best;
  const spec = outcome.specFile ?? 'triton.yaml';
  const changes = outcome.changes.map(changeText);
  switch (outcome.kind) {
    case 'over-budget':
      return [`No candidate kept p99 within ${run.options.latencyBudgetMs} ms; nothing was written. ${bestFound(run, best)}`];
    case 'unchanged':
      return [`The built config is the best found (#${best.id}, ${describeKnobs(best.knobs)}): ${spec} is left as it is.`];
    case 'dry-run':
      return [`Winner #${best.id}: ${describeKnobs(best.knobs)}. --dryRun: ${spec} is left as it is; it would get: ${changes.join('; ')}.`];
    case 'no-spec':
      return [`Winner #${best.id}: ${describeKnobs(best.knobs)}. No triton.yaml given (--spec): nothing written; its keys: ${changes.join('; ')}.`];
    case 'written':
      return [
        `Winner #${best.id}: ${describeKnobs(best.knobs)}. Written to ${spec}: ${changes.join('; ')}.`,
        ...outcome.skipped.map((s) => `Not written: ${changeText(s.change)}: ${s.why}.`),
      ];
  }
}

/** "the best found: #3 …: p99 63.1 ms at concurrency 1, 112.0 infer/s" */
export function bestFound(run: TuneRun, best: Candidate): string {
  const p = best.score.point;
  if (!p) return `No candidate could be measured (#1: ${best.measured.loadError ?? best.measured.points.map((q) => q.error).filter(Boolean).join('; ')}).`;
  return `The best found: #${best.id} ${describeKnobs(best.knobs)}: p99 ${fmt(p.p99Ms)} ms at concurrency ${p.concurrency} (${fmt(p.throughput)} infer/s).`;
}

/** report.md */
export function reportMarkdown(run: TuneRun, outcome: Outcome): string {
  const winner = outcome.kind === 'over-budget' ? undefined : outcome.best.id;
  const { head, rows } = resultTable(run, winner);
  const o = run.options;
  const lines = [
    `# nx-triton tune: ${run.model}`,
    '',
    ...outcomeLines(run, outcome),
    '',
    '![throughput against p99 latency per candidate](report.svg)',
    '',
    `| ${head.map(mdEscape).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
    '',
    '## How it was measured',
    '',
    `- Objective: ${o.objective === 'throughput' ? 'the most throughput at any concurrency whose p99 is within the budget' : 'the lowest p99 at the heaviest concurrency, every concurrency within the budget'}; p99 budget ${o.latencyBudgetMs} ms; concurrency ${o.concurrency.join(', ')}.`,
    `- Search: a hill climb from the built config, one knob at a time, a step taken when it beats the best so far by more than 5 %; ${run.search.candidates.length} of at most ${o.maxCandidates} candidates measured (${run.search.stoppedBy === 'converged' ? 'no step paid any more' : 'stopped at --maxCandidates'}).`,
    `- Each candidate was loaded through Triton's load API with the config as an override (nothing rebuilt), warmed up, then measured by perf_analyzer at each concurrency (synchronous HTTP clients, batch 1, zero-filled inputs, variable dims as 1, ${o.measurementIntervalMs} ms windows until three agree within 10 %); a measurement with a failed request counts as failed.`,
    `- Server: ${run.server.binary} (from ${run.server.source}), on 127.0.0.1. perf_analyzer: ${run.perfAnalyzer.binary} (from ${run.perfAnalyzer.source}${run.perfAnalyzer.version ? ` ${run.perfAnalyzer.version}` : ''}).`,
    `- Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}); started ${run.startedAt.toISOString()}, ${fmt(run.seconds, 0)} s.`,
    ...run.space.notes.map((n) => `- Note: ${n}.`),
    ...run.space.frozen.map((f) => `- Not tuned: ${f.knob} (${f.why}).`),
    '',
  ];
  return lines.join('\n');
}

/** report.json: what was measured, for scripts (the benchmark reads it). */
export function reportJson(run: TuneRun, outcome: Outcome): string {
  return `${JSON.stringify(
    {
      model: run.model,
      options: run.options,
      outcome: outcome.kind,
      winner: outcome.kind === 'over-budget' ? null : outcome.best.id,
      bestFound: outcome.best.id,
      changes: outcome.changes,
      skipped: outcome.skipped,
      seconds: run.seconds,
      notes: run.space.notes,
      frozen: run.space.frozen,
      candidates: run.search.candidates.map((c) => ({ id: c.id, from: c.from ?? null, change: c.change, config: describeKnobs(c.knobs), knobs: c.knobs, ...c.measured, score: c.score })),
    },
    null,
    2,
  )}\n`;
}
