import { describe, expect, it } from 'vitest';
import type { Knobs } from './candidates';
import { chartRows, renderChartSvg } from './chart';
import type { Point } from './score';
import type { Candidate } from './search';

// report.svg, rendered by Vega-Lite/Vega in this process.

const knobs: Knobs = { kind: 'KIND_CPU', count: 1, batching: false, preferred: [], delayUs: 0, maxBatchSize: 16 };
const point = (concurrency: number, throughput: number, p99Ms: number, status: Point['status'] = 'ok'): Point => ({ concurrency, status, throughput, p50Ms: p99Ms / 2, p99Ms, failures: 0 });
const candidates: Candidate[] = [
  { id: 1, knobs, change: 'the built config', measured: { points: [point(1, 48, 21), point(16, 48.3, 332.1)] }, score: { qualifies: true, value: 48 } },
  { id: 2, knobs: { ...knobs, batching: true }, from: 1, change: 'dynamic batching on', measured: { points: [point(1, 47, 22), point(16, 398.9, 48.2)] }, score: { qualifies: true, value: 398.9 } },
  { id: 3, knobs: { ...knobs, count: 2 }, from: 2, change: 'instance count 1 → 2', measured: { points: [point(1, 0, 0, 'unstable'), point(16, 90, 180)] }, score: { qualifies: false, value: 180 } },
];

describe('the chart', () => {
  it('has one point per measured concurrency of each candidate, leaving out what perf_analyzer could not measure', () => {
    const rows = chartRows({ model: 'sleepy', candidates, winner: 2, latencyBudgetMs: 100, objective: 'throughput' });
    expect(rows.map((r) => [r.id, r.concurrency, r.winner])).toEqual([[1, 1, false], [1, 16, false], [2, 1, true], [2, 16, true], [3, 16, false]]);
    expect(rows[2].candidate).toBe('#2 1×CPU, batching (max 16)');
  });

  it('draws throughput against p99 with the winner named and the budget marked', async () => {
    const svg = await renderChartSvg({ model: 'sleepy', candidates, winner: 2, latencyBudgetMs: 100, objective: 'throughput' });
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['nx-triton tune: sleepy', 'winner #2', 'p99 budget 100 ms', 'p99 latency (ms, log scale)', 'throughput (infer/s)', '#3 2×CPU, no batching', 'c=16']) {
      expect(svg).toContain(text);
    }
  });

  it('names no winner when none kept within the budget', async () => {
    const svg = await renderChartSvg({ model: 'sleepy', candidates, latencyBudgetMs: 5, objective: 'throughput' });
    expect(svg).not.toContain('winner');
    expect(svg).toContain('no candidate within it');
  });
});
