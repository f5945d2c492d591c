import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deployModel, Limiter, type ModelResult } from '../deploy/deploy-model';
import { openDestination } from '../deploy/destination';
import { deployEnvironment } from '../deploy/environments';
import { serverUrls } from '../deploy/location';
import { formatBytes } from '../deploy/progress';
import { redactingErrors, redactSecrets } from '../deploy/secrets';
import { checkServers } from '../deploy/servers';
import type { RecordedSample } from '../deploy/smoke';
import { UserError } from '../errors';
import { deployCacheDir } from '../deploy/manifest';
import { ManifestCache } from '../deploy/manifest-cache';
import type { StoredObject } from '../deploy/store';
import { deployStateKeys, exportDir } from '../layout';
import type { ModelConfig } from '../model-config';

/** `deploy`: the Nx target (one model) and `nx-triton deploy` (a repository, or some models and what they need). */
export interface DeployOptions {
  /** The built repository (a directory). */
  builtRepository: string;
  /** Where to: `s3://host:port/bucket/prefix`, `s3://bucket/prefix` (AWS) or a directory. */
  to: string;
  /** Triton HTTP endpoints; none: upload only. */
  servers?: string[];
  /** Only these models; `withMembers` adds the models their ensembles use. Default: every model of the built repository. */
  models?: string[];
  withMembers?: boolean;
  allowHttp?: boolean;
  dryRun?: boolean;
  /** Where `dist/models/<m>/export/verify.json` is looked for (the smoke inference's recorded sample). */
  workspaceRoot?: string;
  cwd?: string;
  /** Models deployed at once (each model's own files go one after another). */
  concurrency?: number;
  /** Tests: each model's deploy stops after saving the previous files, as a deploy killed there. */
  stopAfter?: 'backup';
  log: (line: string) => void;
}

export interface DeploySummary {
  results: ModelResult[];
}

/** Every model directory (with a config.pbtxt) of a built repository, sorted. */
function builtModels(repository: string): string[] {
  if (!existsSync(repository) || !statSync(repository).isDirectory()) throw new UserError(`nx-triton deploy: the built repository ${repository} does not exist (build it first)`);
  return readdirSync(repository)
    .filter((n) => !n.startsWith('.') && existsSync(join(repository, n, 'config.pbtxt')))
    .sort();
}

// The config.pbtxt parser (protobufjs and the proto) and the ensemble closure are loaded only when a
// config is read: an unchanged redeploy without servers reads none.
async function readConfig(repository: string, model: string): Promise<ModelConfig> {
  const { parsePbtxt } = await import('../../proto/text-format.js');
  const file = join(repository, model, 'config.pbtxt');
  return parsePbtxt(readFileSync(file, 'utf8'), file);
}

async function modelsNeeded(repository: string, roots: string[]): Promise<string[]> {
  return (await import('../triton/closure.js')).modelsNeeded(repository, roots);
}

/** The export's recorded smoke sample (verify.json `sample`), when the workspace has one for the model. */
function recordedSample(workspaceRoot: string | undefined, model: string): RecordedSample | undefined {
  if (!workspaceRoot) return undefined;
  try {
    const record = JSON.parse(readFileSync(join(exportDir(workspaceRoot, model), 'verify.json'), 'utf8'));
    const sample = record?.sample;
    if (sample && Array.isArray(sample.inputs) && Array.isArray(sample.outputs)) return sample as RecordedSample;
  } catch {
    // none, or not readable: the config's shapes are used
  }
  return undefined;
}

/** The ensemble members of `model` among `selected` (ensemble_scheduling.step[].model_name). */
async function membersOf(repository: string, model: string, selected: Set<string>): Promise<string[]> {
  // Only an ensemble's config is parsed here (the proto's parser costs a redeploy tens of ms).
  if (!readFileSync(join(repository, model, 'config.pbtxt'), 'utf8').includes('ensemble_scheduling')) return [];
  const steps = (await readConfig(repository, model)).ensemble_scheduling?.step ?? [];
  return [...new Set(steps.map((s) => s.model_name ?? ''))].filter((m) => m !== model && selected.has(m));
}

/** The `deploy` target: one model to the environment of nx.json's `deploy` that the configuration names (the first by default). */
export async function runDeployTarget(o: {
  pluginOptions: Record<string, unknown>;
  environment?: string;
  workspaceRoot: string;
  builtRepository: string;
  model: string;
  dryRun?: boolean;
  log: (line: string) => void;
}): Promise<DeploySummary> {
  const [, environment] = deployEnvironment(o.pluginOptions, o.environment);
  return runDeploy({
    builtRepository: o.builtRepository,
    to: environment.repository,
    servers: environment.servers,
    allowHttp: environment.allowHttp,
    models: [o.model],
    dryRun: o.dryRun,
    workspaceRoot: o.workspaceRoot,
    cwd: o.workspaceRoot,
    log: o.log,
  });
}

/** Any error it ends with has passed redactSecrets (a store's answer could echo a credential). */
export function runDeploy(options: DeployOptions): Promise<DeploySummary> {
  return redactingErrors(() => deployAll(options));
}

async function deployAll(options: DeployOptions): Promise<DeploySummary> {
  const cwd = options.cwd ?? process.cwd();
  const built = resolve(cwd, options.builtRepository);
  const servers = serverUrls(options.servers, options.allowHttp);
  const destination = openDestination(options.to, { allowHttp: options.allowHttp, cwd });
  try {
    const all = builtModels(built);
    const models = options.models?.length ? (options.withMembers ? await modelsNeeded(built, options.models) : options.models) : all;
    if (models.length === 0) throw new UserError(`nx-triton deploy: no models in ${built}`);
    for (const m of models) {
      if (!all.includes(m)) throw new UserError(`nx-triton deploy: model ${m} is not in the built repository ${built} (no ${join(built, m, 'config.pbtxt')}; build it first)`);
    }
    // Nothing is written before the destination and every server have answered.
    await destination.store.check();
    const checked = await checkServers(servers);
    const selected = new Set(models);
    const members = new Map(await Promise.all(models.map(async (m) => [m, await membersOf(built, m, selected)] as const)));
    const done = new Map<string, Promise<ModelResult | undefined>>();
    const failures: string[] = [];
    const results: ModelResult[] = [];
    // One listing of the repository and one of the unfinished deploys, for every model.
    const { store, base } = destination;
    const live = new Map<string, StoredObject[]>();
    for (const o of await store.list(`${base}/`)) {
      const model = o.key.slice(base.length + 1).split('/')[0];
      live.set(model, [...(live.get(model) ?? []), o]);
    }
    const keys = deployStateKeys(base);
    const journals = new Set((await store.list(keys.journals)).map((o) => o.key.slice(keys.journals.length).replace(/\.json$/, '')));
    const manifestEtags = new Map((await store.list(keys.manifests)).map((o) => [o.key, o.etag]));
    const manifestCache = new ManifestCache(deployCacheDir('manifests'));
    const manifest = async (model: string): Promise<Buffer | undefined> => {
      const key = keys.manifest(model);
      const etag = manifestEtags.get(key);
      if (etag === undefined) return undefined;
      const cached = await manifestCache.get(store.url, key, etag);
      if (cached) return cached;
      const bytes = await store.get(key);
      if (bytes) await manifestCache.put(store.url, key, etag, bytes);
      return bytes;
    };
    // Models side by side (members before the ensembles that call them); uploads two files at a time.
    const models_ = new Limiter(options.concurrency ?? 8);
    const uploads = new Limiter(2);
    const deployOne = (model: string): Promise<ModelResult | undefined> => {
      let p = done.get(model);
      if (p) return p;
      p = (async () => {
        const deps = await Promise.all((members.get(model) ?? []).map(deployOne));
        if (deps.some((d) => d === undefined)) {
          failures.push(`nx-triton deploy: ${model}: not deployed, a model it uses failed`);
          return undefined;
        }
        try {
          const r = await models_.run(() => deployModel(
            {
              store: destination.store,
              base: destination.base,
              builtRepository: built,
              servers: checked,
              log: (line) => options.log(redactSecrets(line)),
              segmentProblem: destination.segmentProblem,
              sample: (m) => recordedSample(options.workspaceRoot, m),
              readConfig: (m) => readConfig(built, m),
              dryRun: options.dryRun,
              stopAfter: options.stopAfter,
              hashCache: deployCacheDir('hashes'),
              prefetched: { live, journals, manifest },
              manifestCache,
              uploads,
            },
            model,
          ));
          results.push(r);
          return r;
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
          failures.push(err.message);
          return undefined;
        }
      })();
      done.set(model, p);
      return p;
    };
    await Promise.all(models.map(deployOne));
    if (!options.dryRun && results.length > 1) {
      const changed = results.filter((r) => !r.unchanged);
      const bytes = changed.reduce((n, r) => n + r.uploadedBytes, 0);
      const files = changed.reduce((n, r) => n + r.uploadedFiles, 0);
      options.log(`nx-triton deploy: ${results.length} model(s) to ${destination.location.url}: ${changed.length} changed (${files} file(s), ${formatBytes(bytes)} uploaded), ${results.length - changed.length} unchanged`);
    }
    if (failures.length) throw new UserError(failures.join('\n'));
    return { results: results.sort((a, b) => (a.model < b.model ? -1 : 1)) };
  } finally {
    destination.close();
  }
}
