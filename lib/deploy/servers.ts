import { UserError } from '../errors';
import { TritonClient } from '../triton/client';
import type { ModelConfig } from '../model-config';
import { smokeCase, type RecordedSample } from './smoke';

/**
 * The Triton servers of an environment (HTTP endpoints run with --model-control-mode=explicit):
 * checked before anything is uploaded, then, per model, load -> ready -> smoke inference.
 */
export interface Server {
  url: string;
  client: TritonClient;
}

/** How long a load may take (Triton answers the load request once the model is loaded). */
export const LOAD_TIMEOUT_MS = 600_000;
/** How long to wait for a loaded model to say it is ready. */
export const READY_TIMEOUT_MS = 60_000;
const INFER_TIMEOUT_MS = 120_000;

/** The network reason of a failed fetch (`ECONNREFUSED`), or its message. */
export function fetchReason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** Triton's error as one line (its python tracebacks span several). */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ');
}

/** Each server answers /v2/health/live; a clear error naming the first that does not. */
export async function checkServers(urls: string[]): Promise<Server[]> {
  const servers = urls.map((url) => ({ url, client: new TritonClient(url) }));
  await Promise.all(
    servers.map(async (s) => {
      try {
        await s.client.live();
      } catch (err) {
        throw new UserError(`Triton server ${s.url} is not reachable (${fetchReason(err)}); nothing was uploaded`);
      }
    }),
  );
  return servers;
}

/** The models a server has READY (any version). */
export async function readyModels(server: Server): Promise<Set<string>> {
  try {
    const index = await server.client.index();
    if (!Array.isArray(index)) throw new Error(`unexpected answer ${JSON.stringify(index).slice(0, 200)}`);
    return new Set(index.filter((m) => m.state === 'READY').map((m) => m.name));
  } catch (err) {
    throw new UserError(`Triton server ${server.url}: cannot read its repository index (${fetchReason(err)})`);
  }
}

export interface RolloutOptions {
  config: ModelConfig;
  sample?: RecordedSample;
  /** The models READY on this server before the deploy touched it. */
  readyBefore: Set<string>;
  log: (line: string) => void;
  label: string;
}

/** Loads `model` on one server, waits until it is ready, checks nothing else went down, runs the smoke inference. Resolves with the reason it failed, or undefined. */
export async function rollOut(server: Server, model: string, options: RolloutOptions): Promise<string | undefined> {
  let load;
  try {
    load = await server.client.load(model, { timeoutMs: LOAD_TIMEOUT_MS });
  } catch (err) {
    return `the load request failed (${fetchReason(err)})`;
  }
  if (!load.ok) return oneLine(load.error ?? 'load failed');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await server.client.modelReady(model).catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) return `loaded, but not ready within ${READY_TIMEOUT_MS / 1000} s`;
    await new Promise((r) => setTimeout(r, 200));
  }
  const now = await readyModels(server);
  const lost = [...options.readyBefore].filter((m) => m !== model && !now.has(m)).sort();
  if (lost.length > 0) return `after the load, ${lost.join(', ')} ${lost.length === 1 ? 'is' : 'are'} no longer ready`;
  const smoke = smokeCase(options.config, options.sample);
  if ('skip' in smoke) {
    options.log(`${options.label}: ready on ${server.url}; no smoke inference (${smoke.skip})`);
    return undefined;
  }
  let outputs;
  try {
    outputs = await server.client.infer(model, smoke.inputs, { parameters: smoke.parameters, timeoutMs: INFER_TIMEOUT_MS });
  } catch (err) {
    const e = err as Error;
    return `smoke inference (${smoke.source}) failed: ${oneLine(e.name === 'TypeError' ? fetchReason(err) : e.message)}`;
  }
  const problem = smoke.check(outputs);
  if (problem) return `smoke inference (${smoke.source}): ${problem}`;
  options.log(`${options.label}: ready on ${server.url}, smoke inference passed (${smoke.source})`);
  return undefined;
}
