import { UserError } from '../errors';

/**
 * nx.json's deploy environments (the plugin option `deploy`): each becomes a configuration of the
 * `deploy` target, the first the default one.
 *
 *   "deploy": { "staging": { "repository": "s3://host:port/bucket/prefix", "servers": ["http://..."], "allowHttp": false } }
 *
 * Credentials are never here: the AWS SDK takes them from the environment (its own chain).
 */
export interface DeployEnvironment {
  /** `s3://host:port/bucket/prefix` (Triton's form), `s3://bucket/prefix` (AWS), or a directory. */
  repository: string;
  /** Triton HTTP endpoints (explicit model control); none: upload only. */
  servers: string[];
  /** Plain http:// to servers or S3 endpoints beyond loopback. */
  allowHttp: boolean;
}

const KEYS = new Set(['repository', 'servers', 'allowHttp']);
/** An environment name is an Nx configuration name (`nx run m:deploy -c <name>`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The environments of the plugin options, in nx.json's order; `{}` when there is no `deploy`. Throws a UserError naming the key. */
export function deployEnvironments(options: Record<string, unknown> | undefined): Array<[string, DeployEnvironment]> {
  const value = options?.deploy;
  if (value === undefined || value === null) return [];
  const at = (key: string): string => `nx.json: plugin nx-triton option deploy${key}`;
  if (typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${at('')} must be an object of environments ({ "staging": { "repository": ... } })`);
  const out: Array<[string, DeployEnvironment]> = [];
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (!NAME.test(name)) throw new UserError(`${at('')}: environment name ${JSON.stringify(name)} must be letters, digits, ".", "_" or "-" (it is an Nx configuration name)`);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${at(`.${name}`)} must be an object with "repository"`);
    const env = raw as Record<string, unknown>;
    for (const key of Object.keys(env)) if (!KEYS.has(key)) throw new UserError(`${at(`.${name}.${key}`)}: unknown key (expected repository, servers, allowHttp)`);
    if (typeof env.repository !== 'string' || env.repository.trim() === '') throw new UserError(`${at(`.${name}.repository`)} must be s3://host:port/bucket/prefix or a directory`);
    const servers = env.servers ?? [];
    if (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string' || s === '')) throw new UserError(`${at(`.${name}.servers`)} must be a list of Triton URLs`);
    if (env.allowHttp !== undefined && typeof env.allowHttp !== 'boolean') throw new UserError(`${at(`.${name}.allowHttp`)} must be true or false`);
    out.push([name, { repository: env.repository, servers: servers as string[], allowHttp: env.allowHttp === true }]);
  }
  return out;
}

/** The environment `name`, or the first one when no name is given. */
export function deployEnvironment(options: Record<string, unknown> | undefined, name: string | undefined): [string, DeployEnvironment] {
  const all = deployEnvironments(options);
  if (all.length === 0) throw new UserError('nx.json: the nx-triton plugin has no deploy environments (options.deploy)');
  if (name === undefined) return all[0];
  const found = all.find(([n]) => n === name);
  if (!found) throw new UserError(`nx.json: no deploy environment ${JSON.stringify(name)} (there are: ${all.map(([n]) => n).join(', ')})`);
  return found;
}
