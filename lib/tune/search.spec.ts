import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model-config';
import { knobsKey, searchSpace, type Knobs } from './candidates';
import { beats, score, type Measured, type Point } from './score';
import { hillClimb } from './search';

// The search and the scoring as logic, on a cost model of a server whose every call costs 20 ms
// whatever its batch, with 3 cores' worth of instances (the measurement itself, with the real
// tritonserver and perf_analyzer, is tune.spec.ts; the whole target, e2e/tune.e2e.ts).

const CALL_MS = 20;
const CORES = 3;
/** Requests that reach the batcher while one call runs: more do not fit in one batch. */
const ARRIVALS = 6;

function costModel(k: Knobs, concurrency: number): Point {
  const busy = Math.min(k.count, CORES, concurrency);
  const batch = k.batching ? Math.max(1, Math.min(k.maxBatchSize, ARRIVALS, Math.ceil(concurrency / busy))) : 1;
  const throughput = (busy * batch * 1000) / (CALL_MS + k.delayUs / 1000);
  const p99Ms = (concurrency * 1000) / throughput + (k.preferred.length ? 1 : 0);
  return { concurrency, status: 'ok', throughput, p50Ms: p99Ms * 0.9, p99Ms, failures: 0 };
}

const config: ModelConfig = {
  name: 'm',
  backend: 'python',
  max_batch_size: 16,
  input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [4] }],
  instance_group: [{ kind: 'KIND_CPU', count: 1 }],
};
const space = searchSpace('m', config, { hasGpu: false, maxConcurrency: 16, latencyBudgetMs: 100 });
const options = { objective: 'throughput' as const, latencyBudgetMs: 100, maxCandidates: 20 };
const measure = async (k: Knobs): Promise<Measured> => ({ points: [costModel(k, 16)] });

describe('hillClimb', () => {
  it('turns the batcher on first, then adds instances while they pay, and ends where no step pays', async () => {
    const result = await hillClimb(space, measure, options);
    const changes = result.candidates.map((c) => c.change);
    expect(changes.slice(0, 4)).toEqual(['the built config', 'dynamic batching on', 'instance count 1 → 2', 'instance count 2 → 3']);
    expect(result.best.knobs).toMatchObject({ batching: true, count: 3 });
    expect(result.stoppedBy).toBe('converged');
    // Every step is one knob from the best so far, and no point is measured twice.
    for (const c of result.candidates.slice(1)) expect(c.change.split(', ')).toHaveLength(1);
    expect(new Set(result.candidates.map((c) => knobsKey(c.knobs))).size).toBe(result.candidates.length);
  });

  it('never steps a knob back the way it came (the batcher stays on once turned on)', async () => {
    const result = await hillClimb(space, measure, options);
    expect(result.candidates.map((c) => c.change)).not.toContain('dynamic batching off');
    expect(result.candidates.some((c) => /instance count 3 → 2/.test(c.change))).toBe(false);
  });

  it('measures at most maxCandidates configs, the built one included', async () => {
    const result = await hillClimb(space, measure, { ...options, maxCandidates: 3 });
    expect(result.candidates.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(result.stoppedBy).toBe('maxCandidates');
    expect(result.best.id).toBe(3);
    expect((await hillClimb(space, measure, { ...options, maxCandidates: 1 })).best.change).toBe('the built config');
  });

  it('takes no step that pays less than the margin', async () => {
    // Two instances give 4 % more than one: noise, not a reason to change triton.yaml.
    const flat = async (k: Knobs): Promise<Measured> => ({ points: [{ ...costModel({ ...k, count: 1 }, 16), throughput: k.batching ? 500 * (k.count === 2 ? 1.04 : 1) : 50 }] });
    const result = await hillClimb(space, flat, options);
    expect(result.best.change).toBe('dynamic batching on');
    expect(result.candidates.find((c) => c.change === 'instance count 1 → 2')?.score.value).toBeCloseTo(520);
  });

  it('takes a step that ties within the budget but carries the heaviest load far better, so the next step can pay', async () => {
    // Budget 25 ms at concurrency 1 and 16: only concurrency 1 is within it until the batcher has
    // more instances; the batcher alone ties there (50 infer/s) but cuts p99 at 16 from 320 ms.
    const tight = { ...options, latencyBudgetMs: 25 };
    const result = await hillClimb(space, async (k) => ({ points: [costModel(k, 1), costModel(k, 16)] }), tight);
    expect(result.candidates[1]).toMatchObject({ change: 'dynamic batching on', score: { qualifies: true, value: 50 } });
    expect(result.best.knobs).toMatchObject({ batching: true, count: 3 });
    expect(result.best.score.value).toBeGreaterThan(500);
  });

  it('goes on past a config Triton refused, which never wins', async () => {
    const refusing = async (k: Knobs): Promise<Measured> => (k.count === 2 ? { loadError: 'failed to load: out of memory', points: [] } : measure(k));
    const result = await hillClimb(space, refusing, options);
    const refused = result.candidates.find((c) => c.measured.loadError);
    expect(refused?.score).toEqual({ qualifies: false, value: Infinity });
    expect(result.best.knobs.count).not.toBe(2);
    expect(result.candidates.length).toBeGreaterThan(refused!.id);
  });

  it('with objective latency, climbs to the lowest p99 at the heaviest concurrency', async () => {
    const result = await hillClimb(space, async (k) => ({ points: [costModel(k, 1), costModel(k, 16)] }), { ...options, objective: 'latency' });
    expect(result.best.score.qualifies).toBe(true);
    expect(result.best.score.value).toBe(Math.max(...result.best.measured.points.map((p) => p.p99Ms)));
    expect(result.best.knobs.batching).toBe(true);
    for (const c of result.candidates) if (c.score.qualifies) expect(c.score.value).toBeGreaterThanOrEqual(result.best.score.value);
  });
});

describe('score', () => {
  const point = (concurrency: number, throughput: number, p99Ms: number, extra: Partial<Point> = {}): Point => ({
    concurrency,
    status: 'ok',
    throughput,
    p50Ms: p99Ms / 2,
    p99Ms,
    failures: 0,
    ...extra,
  });
  const budget = { objective: 'throughput' as const, latencyBudgetMs: 50 };

  it('throughput: the most infer/s among the concurrencies within the p99 budget', () => {
    expect(score({ points: [point(1, 50, 21), point(8, 380, 45), point(32, 500, 90)] }, budget)).toMatchObject({ qualifies: true, value: 380, point: { concurrency: 8 } });
  });

  it('a measurement with failed requests, or without a stable result, is not within the budget', () => {
    const s = score({ points: [point(8, 900, 10, { failures: 3 }), point(16, 0, 0, { status: 'unstable' }), point(1, 40, 30)] }, budget);
    expect(s).toMatchObject({ qualifies: true, value: 40 });
  });

  it('latency: every concurrency within the budget, valued by the highest p99', () => {
    expect(score({ points: [point(1, 50, 21), point(8, 380, 45)] }, { ...budget, objective: 'latency' })).toMatchObject({ qualifies: true, value: 45 });
    expect(score({ points: [point(1, 50, 21), point(8, 380, 60)] }, { ...budget, objective: 'latency' })).toMatchObject({ qualifies: false, value: 21 });
  });

  it('ranks: within the budget first; below it, the lowest p99 reached; a difference within the margin is none', () => {
    const inside = score({ points: [point(1, 50, 21)] }, budget);
    const near = score({ points: [point(1, 900, 55)] }, budget);
    const far = score({ points: [point(1, 900, 80)] }, budget);
    expect(beats(inside, near, 'throughput', 0.05)).toBe(true);
    expect(beats(near, inside, 'throughput', 0.05)).toBe(false);
    expect(beats(near, far, 'throughput', 0.05)).toBe(true);
    expect(beats(score({ points: [point(1, 52, 21)] }, budget), inside, 'throughput', 0.05)).toBe(false);
    expect(beats(score({ points: [point(1, 53, 21)] }, budget), inside, 'throughput', 0.05)).toBe(true);
    expect(beats(score({ loadError: 'x', points: [] }, budget), far, 'throughput', 0.05)).toBe(false);
  });

  it('breaks a tie within the margin at the heaviest concurrency: the lower p99 (throughput), the more infer/s (latency)', () => {
    const built = score({ points: [point(1, 50, 21), point(8, 50, 170)] }, budget);
    const batching = score({ points: [point(1, 50, 21), point(8, 380, 55)] }, budget);
    expect(beats(batching, built, 'throughput', 0.05)).toBe(true);
    expect(beats(built, batching, 'throughput', 0.05)).toBe(false);
    // Once the heaviest load is within the budget, a lower p99 there is no reason to move.
    const within = score({ points: [point(1, 50, 21), point(8, 380, 45)] }, budget);
    expect(beats(score({ points: [point(1, 50, 21), point(8, 385, 30)] }, budget), within, 'throughput', 0.05)).toBe(false);
    const latency = { ...budget, objective: 'latency' as const, latencyBudgetMs: 200 };
    expect(beats(score({ points: [point(1, 50, 21), point(8, 380, 170)] }, latency), score({ points: [point(1, 50, 21), point(8, 50, 170)] }, latency), 'latency', 0.05)).toBe(true);
  });
});
