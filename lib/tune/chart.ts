import { describeKnobs } from './candidates';
import type { Candidate } from './search';

/**
 * report.svg: throughput against p99 latency, one line per candidate through its concurrencies, the
 * winner drawn heavier and labelled, the budget a dashed rule. Drawn by Vega-Lite, rendered to SVG
 * by Vega in Node (no DOM, no canvas): the chart is a declarative spec of the data, not hand-made
 * SVG, and Vega/Vega-Lite (the University of Washington's Interactive Data Lab, the grammar under
 * Altair) are maintained, ship SVG rendering for Node, and cost 25 MB installed (ECharts, the
 * other server-side SVG option, 67 MB).
 */

export interface ChartInput {
  model: string;
  candidates: Candidate[];
  /** The candidate the report names the winner (undefined: none within the budget). */
  winner?: number;
  latencyBudgetMs: number;
  objective: string;
}

interface Row {
  candidate: string;
  id: number;
  concurrency: number;
  throughput: number;
  p99: number;
  winner: boolean;
}

export function chartRows(input: ChartInput): Row[] {
  return input.candidates.flatMap((c) =>
    c.measured.points
      .filter((p) => p.status === 'ok' && p.p99Ms > 0)
      .map((p) => ({
        candidate: `#${c.id} ${describeKnobs(c.knobs)}`,
        id: c.id,
        concurrency: p.concurrency,
        throughput: Math.round(p.throughput * 10) / 10,
        p99: Math.round(p.p99Ms * 100) / 100,
        winner: c.id === input.winner,
      })),
  );
}

/** The Vega-Lite spec of the chart (exported for the tests and for anyone who wants to restyle it). */
export function chartSpec(input: ChartInput): Record<string, unknown> {
  const rows = chartRows(input);
  const x = { field: 'p99', type: 'quantitative', title: 'p99 latency (ms, log scale)', scale: { type: 'log' } };
  const y = { field: 'throughput', type: 'quantitative', title: 'throughput (infer/s)', scale: { zero: true } };
  const color = {
    field: 'candidate',
    type: 'nominal',
    title: 'candidate',
    sort: { field: 'id' },
    scale: { scheme: 'tableau20' },
    legend: { labelLimit: 0 },
  };
  const winnerRows = rows.filter((r) => r.winner);
  const best = winnerRows.reduce<Row | undefined>((a, r) => (!a || r.throughput > a.throughput ? r : a), undefined);
  const layer: Array<Record<string, unknown>> = [
    // One line per candidate through its concurrencies, and its points.
    { data: { values: rows }, mark: { type: 'line', strokeWidth: 1.5, opacity: 0.7 }, encoding: { x, y, color, order: { field: 'concurrency', type: 'quantitative' } } },
    { data: { values: rows }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x, y, color } },
    // The budget.
    { data: { values: [{ budget: input.latencyBudgetMs }] }, mark: { type: 'rule', strokeDash: [6, 4], color: '#c0392b' }, encoding: { x: { field: 'budget', type: 'quantitative' } } },
    {
      data: { values: [{ budget: input.latencyBudgetMs, label: `p99 budget ${input.latencyBudgetMs} ms` }] },
      mark: { type: 'text', angle: 270, dy: -6, align: 'right', baseline: 'bottom', color: '#c0392b', fontSize: 11, y: 0 },
      encoding: { x: { field: 'budget', type: 'quantitative' }, text: { field: 'label' } },
    },
  ];
  if (best) {
    layer.push(
      // The winner: a ring around each of its points, its concurrencies, and its name at its best point.
      { data: { values: winnerRows }, mark: { type: 'point', filled: false, size: 320, strokeWidth: 2.5, color: '#111' }, encoding: { x, y } },
      { data: { values: winnerRows }, mark: { type: 'text', dx: 12, dy: 14, align: 'left', fontSize: 10, color: '#333' }, encoding: { x, y, text: { field: 'label' } }, transform: [{ calculate: "'c=' + datum.concurrency", as: 'label' }] },
      { data: { values: [best] }, mark: { type: 'text', dx: 14, dy: -12, align: 'left', fontSize: 13, fontWeight: 'bold', color: '#111' }, encoding: { x, y, text: { value: `winner #${best.id}` } } },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `nx-triton tune: ${input.model}`,
      subtitle: `throughput against p99 latency, one point per concurrency; objective ${input.objective}, p99 budget ${input.latencyBudgetMs} ms${best ? '' : '; no candidate within it'}`,
      anchor: 'start',
    },
    width: 560,
    height: 360,
    background: 'white',
    layer,
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
  };
}

/** The chart as SVG text. */
export async function renderChartSvg(input: ChartInput): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(chartSpec(input) as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
