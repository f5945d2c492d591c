import { describe, expect, it } from 'vitest';
import { formatElapsed, startProgress, withProgress } from './progress';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('progress of long steps', () => {
  it('formats elapsed time for people', () => {
    expect([850, 12_345, 125_000, 3_725_000].map(formatElapsed)).toEqual(['850ms', '12.3s', '2m 05s', '1h 02m']);
  });

  it('prints a start line, "still running" lines with the elapsed time, and the total', async () => {
    const lines: string[] = [];
    const result = await withProgress('export my_nn (torch)', { log: (l) => lines.push(l), intervalMs: 100 }, async () => {
      await sleep(450);
      return 42;
    });
    expect(result).toBe(42);
    expect(lines[0]).toBe('export my_nn (torch)...');
    const running = lines.slice(1, -1);
    expect(running.length).toBeGreaterThanOrEqual(2);
    for (const line of running) expect(line).toMatch(/^export my_nn \(torch\): still running, \d+ms elapsed$|^export my_nn \(torch\): still running, \d+\.\ds elapsed$/);
    expect(lines[lines.length - 1]).toMatch(/^export my_nn \(torch\): done in \d+ms$/);
  });

  it('says how long a failed step ran, and stops printing', async () => {
    const lines: string[] = [];
    await expect(
      withProgress('engine my_nn_trt', { log: (l) => lines.push(l), intervalMs: 50 }, async () => {
        throw new Error('trtexec failed');
      }),
    ).rejects.toThrow('trtexec failed');
    const count = lines.length;
    await sleep(150);
    expect(lines.length).toBe(count);
    expect(lines[count - 1]).toMatch(/^engine my_nn_trt: failed after \d+ms$/);
  });

  it('takes its interval from NX_TRITON_PROGRESS_SECONDS; 0 prints only the start and the end', async () => {
    const saved = process.env.NX_TRITON_PROGRESS_SECONDS;
    process.env.NX_TRITON_PROGRESS_SECONDS = '0';
    try {
      const lines: string[] = [];
      let t = 0;
      const progress = startProgress('step', { log: (l) => lines.push(l), now: () => t });
      await sleep(50);
      t = 125_000;
      expect(progress.end()).toBe(125_000);
      progress.end();
      expect(lines).toEqual(['step...', 'step: done in 2m 05s']);
    } finally {
      if (saved === undefined) delete process.env.NX_TRITON_PROGRESS_SECONDS;
      else process.env.NX_TRITON_PROGRESS_SECONDS = saved;
    }
  });
});
