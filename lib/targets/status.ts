import { parsePbtxt } from '../../proto/text-format';
import { configDrift } from '../deploy/config-drift';
import { openDestination } from '../deploy/destination';
import { serverUrls } from '../deploy/location';
import { isPythonCache, parseState, type Journal, type Manifest } from '../deploy/manifest';
import { redactingErrors, redactSecrets } from '../deploy/secrets';
import { fetchReason } from '../deploy/servers';
import { deployStateKeys, DEPLOY_STATE_SUFFIX } from '../layout';
import { TritonClient } from '../triton/client';
import type { StoredObject } from '../deploy/store';

/**
 * `nx-triton status`: each model's deployed manifest against the repository's objects and against
 * what every server has loaded (`/v2/repository/index`, `GET /v2/models/<m>/config`). One line per
 * difference; none means the destination and the servers are what was deployed.
 */
export interface StatusOptions {
  to: string;
  servers?: string[];
  allowHttp?: boolean;
  cwd?: string;
  /** A line per model that matches. */
  log: (line: string) => void;
}

export interface StatusResult {
  models: string[];
  differences: string[];
}

interface ServerView {
  url: string;
  client: TritonClient;
  /** Triton's index by model name, or why it could not be read. */
  index: Map<string, { state?: string; reason?: string }> | string;
}

/** Any error it ends with has passed redactSecrets (a store's answer could echo a credential). */
export function runStatus(options: StatusOptions): Promise<StatusResult> {
  return redactingErrors(() => status(options));
}

async function status(options: StatusOptions): Promise<StatusResult> {
  const servers = serverUrls(options.servers, options.allowHttp);
  const destination = openDestination(options.to, { allowHttp: options.allowHttp, cwd: options.cwd });
  const { store, base } = destination;
  const keys = deployStateKeys(base);
  const state = `${base}${DEPLOY_STATE_SUFFIX}`;
  try {
    await store.check();
    const [live, manifestObjects, journalObjects] = await Promise.all([store.list(`${base}/`), store.list(`${state}/manifests/`), store.list(keys.journals)]);
    const byModel = new Map<string, StoredObject[]>();
    for (const o of live) {
      if (isPythonCache(o.key)) continue;
      const model = o.key.slice(base.length + 1).split('/')[0];
      byModel.set(model, [...(byModel.get(model) ?? []), o]);
    }
    const named = (objects: StoredObject[], prefix: string) => objects.map((o) => o.key.slice(prefix.length)).filter((k) => k.endsWith('.json')).map((k) => k.slice(0, -5));
    const models = [...new Set([...byModel.keys(), ...named(manifestObjects, `${state}/manifests/`), ...named(journalObjects, keys.journals)])].sort();
    const views: ServerView[] = await Promise.all(
      servers.map(async (url) => {
        const client = new TritonClient(url);
        try {
          const index = await client.index();
          return { url, client, index: new Map(index.map((m) => [m.name, m])) };
        } catch (err) {
          return { url, client, index: fetchReason(err) };
        }
      }),
    );
    const differences: string[] = [];
    for (const v of views) if (typeof v.index === 'string') differences.push(`server ${v.url}: not reachable (${v.index})`);
    for (const model of models) {
      const found: string[] = [];
      const [manifestBytes, journalBytes] = await Promise.all([store.get(keys.manifest(model)), store.get(keys.journal(model))]);
      const manifest = parseState<Manifest>(manifestBytes, model);
      const journal = parseState<Journal>(journalBytes, model);
      const objects = new Map((byModel.get(model) ?? []).map((o) => [o.key.slice(`${base}/${model}/`.length), o]));
      if (journal) found.push(`${model}: a deploy (${journal.id}, started ${journal.startedAt}) did not finish: run nx-triton deploy again to complete it`);
      else if (!manifest) found.push(`${model}: in the repository but not deployed by nx-triton (no manifest)`);
      else {
        for (const [rel, f] of Object.entries(manifest.files)) {
          const o = objects.get(rel);
          if (!o) found.push(`${model}/${rel}: missing (deployed, no longer in the repository)`);
          else if (o.size !== f.size || (f.etag !== undefined && o.etag !== f.etag)) found.push(`${model}/${rel}: changed since it was deployed`);
        }
        for (const rel of objects.keys()) if (!(rel in manifest.files)) found.push(`${model}/${rel}: not deployed by nx-triton (not in its manifest)`);
      }
      let deployedConfig: Record<string, unknown> | undefined;
      if (manifest && views.length > 0) {
        const text = await store.get(`${base}/${model}/config.pbtxt`);
        try {
          deployedConfig = text ? (parsePbtxt(text.toString('utf8'), `${model}/config.pbtxt`) as Record<string, unknown>) : undefined;
        } catch {
          found.push(`${model}/config.pbtxt: not a config Triton can read`);
        }
      }
      let ready = 0;
      for (const v of views) {
        if (typeof v.index === 'string' || !manifest) continue;
        const entry = v.index.get(model);
        if (entry?.state !== 'READY') {
          const why = !entry ? 'not in its index' : entry.state ? `${entry.state}${entry.reason ? `: ${entry.reason}` : ''}` : 'never loaded';
          found.push(`${model}: not ready on ${v.url} (${why})`);
          continue;
        }
        ready++;
        if (!deployedConfig) continue;
        try {
          const drift = configDrift(deployedConfig, await v.client.config(model));
          if (drift.length) found.push(`${model}: ${v.url} serves another config than the deployed config.pbtxt (${drift.slice(0, 3).join('; ')})`);
        } catch (err) {
          found.push(`${model}: ${v.url}: cannot read its config (${fetchReason(err)})`);
        }
      }
      if (found.length === 0 && manifest) {
        options.log(`${model}: ok (${Object.keys(manifest.files).length} file(s), deployed ${manifest.deployedAt}${views.length ? `; ready on ${ready} of ${views.length} server(s)` : ''})`);
      }
      differences.push(...found.map((l) => redactSecrets(l)));
    }
    return { models, differences };
  } finally {
    destination.close();
  }
}
