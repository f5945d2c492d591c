import { createServer } from 'node:net';
import { UserError } from '../errors';
import { startTritonServer, type RunningTriton, type StartOptions } from './server';

/** What `serve` (the target and the CLI verb) prints and streams. */
export interface ServeIo {
  /** Our own lines (URLs, ports, stopping). */
  info: (line: string) => void;
  /** Triton's log, line by line. */
  log: (line: string) => void;
  /** Called once, when Triton answers /v2/health/ready, with its HTTP URL (the serve executor tells Nx: readyWhen signal). */
  ready?: (url: string) => void;
}

export interface ServeOptions extends Omit<StartOptions, 'onLog' | 'abort'> {
  /** Resolves when the caller wants the server stopped; default: SIGINT or SIGTERM to this process. */
  until?: Promise<string>;
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM; `dispose` removes the handlers. */
export function nextStopSignal(): { signal: Promise<string>; dispose: () => void } {
  let dispose = (): void => {};
  const signal = new Promise<string>((resolveSignal) => {
    const onInt = (): void => resolveSignal('SIGINT');
    const onTerm = (): void => resolveSignal('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    dispose = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  });
  return { signal, dispose };
}

export function describeServer(server: RunningTriton, models: string[] | '*'): string[] {
  const which = models === '*' ? 'every model in the repository' : models.join(', ');
  return [
    `nx-triton serve: tritonserver ${server.binary.binary} (from ${server.binary.source}) is ready, serving ${which}`,
    `  HTTP     ${server.url}  (ready: ${server.url}/v2/health/ready)`,
    `  gRPC     127.0.0.1:${server.grpcPort}`,
    `  metrics  http://127.0.0.1:${server.metricsPort}/metrics`,
    'nx-triton serve: Ctrl-C stops it',
  ];
}

/** Triton's own default is 30 s per model at most, but a large model may load for minutes (Nx's readyWhen waits 10). */
const READY_TIMEOUT_MS = 600_000;

/**
 * A port given by the user must be free before Triton starts: were another server ready on it,
 * the readiness poll would take that server's answer for ours.
 */
export async function checkPortFree(port: number, what: string): Promise<void> {
  if (!port) return;
  await new Promise<void>((ok, fail) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new UserError(`nx-triton serve: port ${port} (${what}) on 127.0.0.1 is already in use; choose another one`)
          : new UserError(`nx-triton serve: cannot listen on 127.0.0.1:${port} (${what}): ${err.message}`),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok()));
  });
}

/**
 * Starts Triton on the repository, prints where it listens, streams its log, and stops it on
 * SIGINT/SIGTERM (or `until`), also while it is still loading. Resolves when the server is down;
 * a server that stops by itself is a UserError with its last lines.
 */
export async function serveUntilStopped(options: ServeOptions, io: ServeIo): Promise<void> {
  const stopSignal = options.until ? undefined : nextStopSignal();
  const until = options.until ?? stopSignal!.signal;
  const abort = new AbortController();
  let stoppedBy: string | undefined;
  void until.then((signal) => {
    stoppedBy = signal;
    io.info(`nx-triton serve: ${signal}: stopping tritonserver`);
    abort.abort();
  });
  try {
    await checkPortFree(options.httpPort ?? 0, 'HTTP');
    await checkPortFree(options.grpcPort ?? 0, 'gRPC');
    await checkPortFree(options.metricsPort ?? 0, 'metrics');
    let server: RunningTriton;
    try {
      server = await startTritonServer({ readyTimeoutMs: READY_TIMEOUT_MS, ...options, onLog: io.log, abort: abort.signal });
    } catch (err) {
      if (stoppedBy) return;
      throw err;
    }
    for (const line of describeServer(server, options.models ?? '*')) io.info(line);
    io.ready?.(server.url);
    const code = await server.exited;
    if (stoppedBy) {
      io.info('nx-triton serve: tritonserver stopped');
      return;
    }
    throw new UserError(`nx-triton serve: tritonserver exited by itself (code ${code}); its last lines:\n${server.log().split('\n').slice(-15).join('\n')}`);
  } finally {
    stopSignal?.dispose();
  }
}
