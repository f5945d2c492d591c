import { describe, expect, it } from 'vitest';
import { failedRequests, isUnstable, parsePerfCsv, perfError, shapeArgs } from './perf-analyzer';

// Reading perf_analyzer 2.50's output, as it printed it here against the bundled tritonserver
// (tune.spec.ts runs it for real).

describe('parsePerfCsv', () => {
  it('reads throughput and the p50/p99 latencies (µs -> ms) of the -f CSV', () => {
    const csv =
      'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait\n' +
      '16,480.625,52,664,10922,93,20969,385,0,35529,43295,43756,49507,33088,52,33026\n';
    expect(parsePerfCsv(csv)).toEqual({ concurrency: 16, throughput: 480.625, p50Ms: 35.529, p99Ms: 49.507 });
  });

  it('takes a file without a data row, or without the columns, as no result', () => {
    expect(parsePerfCsv('Concurrency,Inferences/Second,p50 latency,p99 latency\n')).toBeUndefined();
    expect(parsePerfCsv('Concurrency,Inferences/Second\n1,40\n')).toBeUndefined();
  });
});

describe('what went wrong', () => {
  const failing = [
    'Request concurrency: 8',
    ' Failed to maintain requested inference load. Worker thread(s) failed to generate concurrent requests.',
    'Thread [0] had error: [request id: <id_unknown>] Exceeds maximum queue size',
    '',
    'Thread [1] had error: [request id: <id_unknown>] Exceeds maximum queue size',
  ].join('\n');

  it("counts the failed requests and keeps Triton's reason", () => {
    expect(failedRequests(failing)).toEqual({ count: 2, reason: '[request id: <id_unknown>] Exceeds maximum queue size (2 failed)' });
    expect(failedRequests('Concurrency: 1, throughput: 46.0486 infer/sec, latency 21760 usec')).toEqual({ count: 0, reason: undefined });
  });

  it('tells an unstable measurement from a failed one', () => {
    const unstable = 'Failed to obtain stable measurement within 10 measurement windows for concurrency 16. Please try to increase the --measurement-interval.\nFailed to obtain stable measurement.';
    expect(isUnstable(unstable)).toBe(true);
    expect(isUnstable(failing)).toBe(false);
    expect(perfError("error: failed to get model metadata: Request for unknown model: 'nosuch' is not found")).toBe(
      "error: failed to get model metadata: Request for unknown model: 'nosuch' is not found",
    );
  });
});

describe('shapeArgs', () => {
  it('gives each input with a variable dim a shape, taking the variable dims as 1', () => {
    const args = shapeArgs({
      max_batch_size: 8,
      input: [
        { name: 'ids', data_type: 'TYPE_INT64', dims: [-1] },
        { name: 'image', data_type: 'TYPE_FP32', dims: [3, -1, -1] },
        { name: 'fixed', data_type: 'TYPE_FP32', dims: [4] },
      ],
    });
    expect(args).toEqual(['--shape', 'ids:1', '--shape', 'image:3,1,1']);
  });
});
