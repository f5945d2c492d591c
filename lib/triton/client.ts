/**
 * The few calls of Triton's HTTP/REST API (KServe v2 plus Triton's repository extension) that
 * nx-triton makes: load and unload a model, read its config, index the repository, infer.
 */

export interface LoadResult {
  ok: boolean;
  /** Triton's error, with the reason from its log when the answer only says "failed to poll". */
  error?: string;
}

export interface InferTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: Array<number | string | boolean>;
}

async function call(url: string, method: 'GET' | 'POST', body?: unknown, timeoutMs = 120_000): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    try {
      json = JSON.parse(nonFiniteAsNull(text));
    } catch {}
  }
  return { status: res.status, json };
}

/**
 * Triton writes non-finite numbers of an answer as the bare words NaN, Infinity and -Infinity
 * (measured: an FP32 output of [nan, inf, -inf] comes as `"data":[NaN,Infinity,-Infinity]`),
 * which JSON has not: they become null, outside strings only.
 */
export function nonFiniteAsNull(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const word = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (!inString && word) {
      out += 'null';
      i += word[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

function errorOf(json: unknown): string {
  return typeof json === 'object' && json && 'error' in json ? String((json as { error: unknown }).error) : JSON.stringify(json);
}

export class TritonClient {
  constructor(
    readonly url: string,
    /** The server's log so far: Triton puts the reason of a failed poll there, not in the answer. */
    private readonly log: () => string = () => '',
  ) {}

  /**
   * Loads (or reloads) a model. With `config`, Triton takes that whole config instead of the
   * directory's config.pbtxt (the load API's `parameters.config`, a JSON string; core's
   * JsonToModelConfig reads it as protobuf JSON with the config.pbtxt field names): nothing on disk changes.
   * `timeoutMs`: how long to wait for Triton's answer, which comes once the load is done (default 120 s).
   */
  async load(model: string, options: { config?: object; timeoutMs?: number } = {}): Promise<LoadResult> {
    const body = options.config === undefined ? {} : { parameters: { config: JSON.stringify(options.config) } };
    const { status, json } = await call(`${this.url}/v2/repository/models/${encodeURIComponent(model)}/load`, 'POST', body, options.timeoutMs);
    if (status === 200) return { ok: true };
    let error = errorOf(json).trim();
    if (/failed to poll from model repository/.test(error)) {
      // The log line may trail the HTTP answer by a moment.
      for (let i = 0; i < 20; i++) {
        const why = pollFailure(this.log(), model);
        if (why) {
          error = why;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { ok: false, error };
  }

  async unload(model: string): Promise<void> {
    await call(`${this.url}/v2/repository/models/${encodeURIComponent(model)}/unload`, 'POST', {});
  }

  /** The config Triton uses for a loaded model, as JSON (Triton's normalised ModelConfig). */
  async config(model: string): Promise<Record<string, unknown>> {
    const { status, json } = await call(`${this.url}/v2/models/${encodeURIComponent(model)}/config`, 'GET');
    if (status !== 200) throw new Error(`GET config of ${model}: ${status} ${errorOf(json)}`);
    return json as Record<string, unknown>;
  }

  async index(): Promise<Array<{ name: string; version?: string; state?: string; reason?: string }>> {
    const { json } = await call(`${this.url}/v2/repository/index`, 'POST', {});
    return json as Array<{ name: string; version?: string; state?: string; reason?: string }>;
  }

  /** Throws on a network error (fetch's) or an answer other than 200. */
  async live(): Promise<void> {
    const { status, json } = await call(`${this.url}/v2/health/live`, 'GET', undefined, 10_000);
    if (status !== 200) throw new Error(`GET /v2/health/live: ${status} ${errorOf(json)}`);
  }

  /** Whether Triton says the model is ready (`GET /v2/models/<m>/ready` answers 200). */
  async modelReady(model: string): Promise<boolean> {
    const { status } = await call(`${this.url}/v2/models/${encodeURIComponent(model)}/ready`, 'GET', undefined, 10_000);
    return status === 200;
  }

  async infer(model: string, inputs: InferTensor[], options: { parameters?: Record<string, unknown>; timeoutMs?: number } = {}): Promise<InferTensor[]> {
    const body = options.parameters ? { inputs, parameters: options.parameters } : { inputs };
    const { status, json } = await call(`${this.url}/v2/models/${encodeURIComponent(model)}/infer`, 'POST', body, options.timeoutMs);
    if (status !== 200) throw new Error(`infer ${model}: ${status} ${errorOf(json)}`);
    return (json as { outputs: InferTensor[] }).outputs;
  }
}

/** `Poll failed for model directory '<model>': <why>` from Triton's log (model_repository_manager.cc). */
export function pollFailure(log: string, model: string): string | undefined {
  const marker = `Poll failed for model directory '${model}': `;
  const lines = log.split('\n').filter((l) => l.includes(marker));
  const last = lines.at(-1);
  if (!last) return undefined;
  return last.slice(last.indexOf(marker) + marker.length).replace(/"\s*$/, '');
}
