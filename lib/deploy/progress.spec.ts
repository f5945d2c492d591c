import { describe, expect, it, vi } from 'vitest';
import { formatBytes, RateWindow, uploadProgress } from './progress';

// Upload progress lines: bytes of the total and the rate over a sliding window.

describe('RateWindow', () => {
  it('gives the rate over the last window, not the average since the start', () => {
    const w = new RateWindow(10_000);
    // 100 MiB/s for 20 s, then a stall for 10 s
    for (let t = 0; t <= 20_000; t += 1000) w.add(t, (t / 1000) * 100 * 2 ** 20);
    expect(w.rate() / 2 ** 20).toBeCloseTo(100, 5);
    for (let t = 21_000; t <= 30_000; t += 1000) w.add(t, 20 * 100 * 2 ** 20);
    expect(w.rate()).toBe(0);
    // an average from the start would still say 66 MiB/s
    w.add(31_000, 20 * 100 * 2 ** 20 + 10 * 2 ** 20);
    expect(w.rate() / 2 ** 20).toBeCloseTo(1, 5);
  });
});

describe('uploadProgress', () => {
  it('prints bytes sent of the total with the windowed rate, every interval, until it ends', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      let now = 0;
      const p = uploadProgress('nx-triton deploy: big: uploading', 1024 * 2 ** 20, (l) => lines.push(l), { intervalMs: 5000, now: () => now });
      for (let s = 1; s <= 5; s++) {
        now = s * 1000;
        p.file('1/w.bin', s * 50 * 2 ** 20);
      }
      vi.advanceTimersByTime(5000);
      p.end();
      vi.advanceTimersByTime(20_000);
      expect(lines).toEqual(['nx-triton deploy: big: uploading: 250 MiB of 1.00 GiB (24%), 50.0 MiB/s']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('formats sizes', () => {
    expect([0, 1023, 1024, 1536, 10 * 2 ** 20, 123 * 2 ** 20, 2 ** 30].map(formatBytes)).toEqual(['0 B', '1023 B', '1.00 KiB', '1.50 KiB', '10.0 MiB', '123 MiB', '1.00 GiB']);
  });
});
