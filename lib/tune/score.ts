/**
 * What a measured candidate is worth. A candidate is measured at each requested concurrency; a
 * point is within budget when perf_analyzer measured it (stable by its own criteria), no request
 * failed, and its p99 latency is at most the budget.
 *
 * - objective `throughput`: the candidate qualifies when any point is within budget; its value is
 *   the highest throughput among those points (more is better).
 * - objective `latency`: the candidate qualifies when every requested concurrency is within budget;
 *   its value is the highest p99 among them, the tail latency at the heaviest load asked for (less
 *   is better).
 * A candidate that does not qualify is ranked by the lowest p99 it reached (closest to the budget).
 * Where two candidates tie on that (within the margin), the heaviest concurrency decides: with
 * `throughput`, while the best so far is over the budget there, the lower p99 there (the config
 * that is closer to serving that load within the budget); with `latency`, the higher throughput
 * there. So a step that does not pay yet at the loads within the budget, but carries the heaviest
 * load far better (dynamic batching just over the budget at concurrency 8, say), is still taken,
 * and the next steps can bring it within; once that load is within the budget, a step must add
 * throughput to be taken.
 */

export type Objective = 'throughput' | 'latency';

export interface Point {
  concurrency: number;
  /** `ok`: perf_analyzer's stable measurement; `unstable`: none within its trials; `error`: it failed. */
  status: 'ok' | 'unstable' | 'error';
  /** infer/s */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed (perf_analyzer stops a client thread at its first failure, and the measurement with it). */
  failures: number;
  error?: string;
}

export interface Measured {
  /** Why the candidate could not be measured (Triton refused the config); no points then. */
  loadError?: string;
  points: Point[];
}

export interface ScoreOptions {
  objective: Objective;
  latencyBudgetMs: number;
}

export interface Score {
  qualifies: boolean;
  /** throughput: infer/s; latency: ms (the qualifying value, or the lowest p99 of one that does not qualify). */
  value: number;
  /** The point the value comes from. */
  point?: Point;
  /** The measured point at the heaviest concurrency (what decides a tie), and whether it is within the budget. */
  heaviest?: Point;
  heaviestWithin?: boolean;
}

export function withinBudget(p: Point, budgetMs: number): boolean {
  return p.status === 'ok' && p.failures === 0 && p.p99Ms <= budgetMs;
}

export function score(m: Measured, options: ScoreOptions): Score {
  const ok = m.points.filter((p) => p.status === 'ok');
  const inside = m.points.filter((p) => withinBudget(p, options.latencyBudgetMs));
  const heaviest = ok.reduce<Point | undefined>((a, b) => (!a || b.concurrency > a.concurrency ? b : a), undefined);
  const extra = heaviest ? { heaviest, heaviestWithin: withinBudget(heaviest, options.latencyBudgetMs) } : {};
  if (!m.loadError && options.objective === 'throughput' && inside.length > 0) {
    const point = inside.reduce((a, b) => (b.throughput > a.throughput ? b : a));
    return { qualifies: true, value: point.throughput, point, ...extra };
  }
  if (!m.loadError && options.objective === 'latency' && m.points.length > 0 && inside.length === m.points.length) {
    const point = inside.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a));
    return { qualifies: true, value: point.p99Ms, point, ...extra };
  }
  if (ok.length === 0) return { qualifies: false, value: Infinity };
  const point = ok.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
  return { qualifies: false, value: point.p99Ms, point, ...extra };
}

/** Whether `a` is better than `b` on the objective's value by more than the margin. */
function better(a: Score, b: Score, objective: Objective, margin: number): boolean {
  if (a.qualifies && objective === 'throughput') return a.value > b.value * (1 + margin);
  // Lower is better: a qualifying latency, or how close one that does not qualify came to the budget.
  if (!Number.isFinite(a.value)) return false;
  return !Number.isFinite(b.value) || a.value < b.value * (1 - margin);
}

/**
 * The tie-break at the heaviest concurrency: a lower p99 while `b` is over the budget there
 * (objective throughput), a higher throughput (latency).
 */
function heavierBetter(a: Score, b: Score, objective: Objective, margin: number): boolean {
  if (!a.heaviest) return false;
  if (!b.heaviest || a.heaviest.concurrency !== b.heaviest.concurrency) return !b.heaviest || a.heaviest.concurrency > b.heaviest.concurrency;
  if (objective === 'latency') return a.heaviest.throughput > b.heaviest.throughput * (1 + margin);
  return !b.heaviestWithin && a.heaviest.p99Ms < b.heaviest.p99Ms * (1 - margin);
}

/**
 * Whether `a` beats `b` by more than `margin` (a fraction: 0.05 is 5 %). Measurements of one config
 * differ by a few per cent from run to run; a smaller difference is no reason to change triton.yaml.
 */
export function beats(a: Score, b: Score, objective: Objective, margin: number): boolean {
  if (a.qualifies !== b.qualifies) return a.qualifies;
  if (better(a, b, objective, margin)) return true;
  if (better(b, a, objective, margin) || !Number.isFinite(a.value)) return false;
  return heavierBetter(a, b, objective, margin);
}
