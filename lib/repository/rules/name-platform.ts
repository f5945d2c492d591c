import { RUNTIMES } from '../../platforms';
import type { ModelConfig } from '../../types';
import type { Problem } from './problem';

/** The backend each platform Triton knows loads through (lib/platforms.ts). */
const PLATFORM_BACKEND: Record<string, string> = {
  ...Object.fromEntries(RUNTIMES.flatMap((r) => (r.platform ? [[r.platform, r.backend]] : []))),
  ensemble: '',
};

/** Backends Triton pairs with a platform; any other backend name is a custom backend. */
const PAIRED_BACKENDS = new Set(RUNTIMES.flatMap((r) => (r.platform ? [r.backend] : [])));

export function knownPlatforms(): string[] {
  return Object.keys(PLATFORM_BACKEND);
}

/** The backend Triton derives from a platform (undefined for an unknown platform). */
export function backendOfPlatform(platform: string): string | undefined {
  return PLATFORM_BACKEND[platform];
}

export function checkNamePlatform(config: ModelConfig, ctx: { dirName?: string } = {}): Problem[] {
  const problems: Problem[] = [];
  const name = config.name ?? '';
  const platform = config.platform ?? '';
  const backend = config.backend ?? '';

  if (!name && ctx.dirName === undefined) {
    problems.push({ path: 'name', message: "model configuration must specify 'name'" });
  } else if (name && ctx.dirName !== undefined && name !== ctx.dirName) {
    problems.push({
      path: 'name',
      message: `unexpected directory name '${ctx.dirName}' for model '${name}', directory name must equal model name`,
    });
  }

  if (platform === 'ensemble') {
    if (backend) {
      problems.push({
        path: 'backend',
        message: `ensemble model must have platform type 'ensemble' and empty backend type, got backend '${backend}'`,
      });
    }
  } else if (!platform && !backend) {
    if (!config.default_model_filename) {
      problems.push({ path: 'platform', message: "must specify 'platform' or 'backend'" });
    }
  } else if (platform && !(platform in PLATFORM_BACKEND)) {
    if (!backend) {
      problems.push({
        path: 'platform',
        message: `unexpected platform type '${platform}' (known: ${knownPlatforms().join(', ')}; or set 'backend')`,
      });
    }
  } else if (platform && backend && PAIRED_BACKENDS.has(backend) && PLATFORM_BACKEND[platform] !== backend) {
    problems.push({
      path: 'backend',
      message: `unexpected 'platform' and 'backend' pair, got:${platform}, ${backend} (platform ${platform} loads with backend '${PLATFORM_BACKEND[platform]}')`,
    });
  }

  if ((config.max_batch_size ?? 0) < 0) {
    problems.push({ path: 'max_batch_size', message: `'max_batch_size' must be non-negative, got ${config.max_batch_size}` });
  }
  return problems;
}
