import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parsePbtxt } from '../../proto/text-format';
import { deployModel, type ModelResult } from '../deploy/deploy-model';
import { openDestination } from '../deploy/destination';
import { serverUrl } from '../deploy/location';
import { formatBytes } from '../deploy/progress';
import { redactSecrets } from '../deploy/secrets';
import { checkServers } from '../deploy/servers';
import type { RecordedSample } from '../deploy/smoke';
import { UserError } from '../errors';
import { exportDir } from '../layout';
import { modelsNeeded } from '../triton/closure';
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

function readConfig(repository: string, model: string): ModelConfig {
  const file = join(repository, model, 'config.pbtxt');
  return parsePbtxt(readFileSync(file, 'utf8'), file);
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
function membersOf(repository: string, model: string, selected: Set<string>): string[] {
  const steps = readConfig(repository, model).ensemble_scheduling?.step ?? [];
  return [...new Set(steps.map((s) => s.model_name ?? ''))].filter((m) => m !== model && selected.has(m));
}

export async function runDeploy(options: DeployOptions): Promise<DeploySummary> {
  const cwd = options.cwd ?? process.cwd();
  const built = resolve(cwd, options.builtRepository);
  const servers = [...new Set((options.servers ?? []).map((s) => serverUrl(s, options.allowHttp ?? false)))];
  const destination = openDestination(options.to, { allowHttp: options.allowHttp, cwd });
  try {
    const all = builtModels(built);
    const models = options.models?.length ? (options.withMembers ? modelsNeeded(built, options.models) : options.models) : all;
    if (models.length === 0) throw new UserError(`nx-triton deploy: no models in ${built}`);
    for (const m of models) {
      if (!all.includes(m)) throw new UserError(`nx-triton deploy: model ${m} is not in the built repository ${built} (no ${join(built, m, 'config.pbtxt')}; build it first)`);
    }
    // Nothing is written before the destination and every server have answered.
    await destination.store.check();
    const checked = await checkServers(servers);
    const selected = new Set(models);
    const members = new Map(models.map((m) => [m, membersOf(built, m, selected)]));
    const done = new Map<string, Promise<ModelResult | undefined>>();
    const failures: string[] = [];
    const results: ModelResult[] = [];
    // A small pool: members before the ensembles that call them, independent models side by side.
    let running = 0;
    const waiters: Array<() => void> = [];
    const slot = async (): Promise<void> => {
      if (running < (options.concurrency ?? 4)) {
        running++;
        return;
      }
      await new Promise<void>((ok) => waiters.push(ok));
      running++;
    };
    const release = (): void => {
      running--;
      waiters.shift()?.();
    };
    const deployOne = (model: string): Promise<ModelResult | undefined> => {
      let p = done.get(model);
      if (p) return p;
      p = (async () => {
        const deps = await Promise.all((members.get(model) ?? []).map(deployOne));
        if (deps.some((d) => d === undefined)) {
          failures.push(`nx-triton deploy: ${model}: not deployed, a model it uses failed`);
          return undefined;
        }
        await slot();
        try {
          const r = await deployModel(
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
            },
            model,
          );
          results.push(r);
          return r;
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
          failures.push(err.message);
          return undefined;
        } finally {
          release();
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
