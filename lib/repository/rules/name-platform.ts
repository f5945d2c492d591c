import { backendOfPlatform, KNOWN_PLATFORMS, PAIRED_BACKENDS } from '../../platforms';
import type { ModelConfig } from '../../model-config';
import type { Problem } from './problem';

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
  } else if (platform && !KNOWN_PLATFORMS.includes(platform)) {
    if (!backend) {
      problems.push({
        path: 'platform',
        message: `unexpected platform type '${platform}' (known: ${KNOWN_PLATFORMS.join(', ')}; or set 'backend')`,
      });
    }
  } else if (platform && backend && PAIRED_BACKENDS.has(backend) && backendOfPlatform(platform) !== backend) {
    problems.push({
      path: 'backend',
      message: `unexpected 'platform' and 'backend' pair, got:${platform}, ${backend} (platform ${platform} loads with backend '${backendOfPlatform(platform)}')`,
    });
  }

  if ((config.max_batch_size ?? 0) < 0) {
    problems.push({ path: 'max_batch_size', message: `'max_batch_size' must be non-negative, got ${config.max_batch_size}` });
  }
  return problems;
}
