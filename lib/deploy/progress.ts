import { progressIntervalMs } from '../system/progress';

/**
 * Progress lines of a model's uploads: bytes sent of the total, and the rate over the last few
 * seconds (a sliding window, so a stall shows at once instead of being averaged away).
 */

/** Seconds between upload progress lines unless NX_TRITON_PROGRESS_SECONDS says otherwise. */
export const UPLOAD_PROGRESS_SECONDS = 5;
/** The rate is taken over this window. */
export const RATE_WINDOW_MS = 10_000;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** Bytes per second over the last `windowMs` of samples (time, cumulative bytes). */
export class RateWindow {
  private readonly samples: Array<{ t: number; bytes: number }> = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  add(t: number, bytes: number): void {
    this.samples.push({ t, bytes });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && this.samples[1].t <= t - this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window ending at the last sample; 0 before two samples. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const last = this.samples[this.samples.length - 1];
    const first = this.samples.find((s) => s.t >= last.t - this.windowMs) ?? this.samples[0];
    const from = first === last ? this.samples[this.samples.length - 2] : first;
    const dt = last.t - from.t;
    return dt > 0 ? ((last.bytes - from.bytes) * 1000) / dt : 0;
  }
}

export interface UploadProgress {
  /** The cumulative bytes of one file changed. */
  file(rel: string, sent: number): void;
  end(): void;
}

/** Lines every interval while the model's uploads run: `<label>: 512 MiB of 1.00 GiB (50%), 48.2 MiB/s`. */
export function uploadProgress(label: string, total: number, log: (line: string) => void, options: { intervalMs?: number; now?: () => number } = {}): UploadProgress {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? progressIntervalMs(process.env, UPLOAD_PROGRESS_SECONDS);
  const perFile = new Map<string, number>();
  const window = new RateWindow();
  let sent = 0;
  window.add(now(), 0);
  const line = (): void => {
    const pct = total > 0 ? Math.floor((sent * 100) / total) : 100;
    log(`${label}: ${formatBytes(sent)} of ${formatBytes(total)} (${pct}%), ${formatBytes(Math.round(window.rate()))}/s`);
  };
  const timer = interval > 0 ? setInterval(line, interval) : undefined;
  timer?.unref();
  return {
    file(rel, bytes) {
      sent += bytes - (perFile.get(rel) ?? 0);
      perFile.set(rel, bytes);
      window.add(now(), sent);
    },
    end() {
      if (timer) clearInterval(timer);
    },
  };
}
