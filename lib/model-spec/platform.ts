import { backendOfPlatform, KNOWN_PLATFORMS } from '../platforms';
import { closest } from './suggest';

/** Backends people write as a platform, and what they meant (Triton's platform for it, or backend:). */
function meant(written: string): string | undefined {
  const lower = written.trim().toLowerCase();
  const platform = KNOWN_PLATFORMS.find((p) => backendOfPlatform(p) === lower);
  if (platform) return `platform: ${platform}" or "backend: ${lower}`;
  if (['python', 'openvino', 'dali', 'fil', 'identity', 'vllm', 'tensorrtllm'].includes(lower)) return `backend: ${lower}`;
  const near = closest(written, KNOWN_PLATFORMS);
  return near === undefined ? undefined : `platform: ${near}`;
}

/**
 * Triton refuses a platform it does not know unless a backend is set (core src/model_config_utils.cc, ValidateModelConfig,
 * which lib/repository/rules/name-platform.ts mirrors); say so at the platform key, with what was meant.
 */
export function unknownPlatformMessage(platform: string | undefined, backend: string | undefined): string | undefined {
  if (platform === undefined || platform === '' || backend || KNOWN_PLATFORMS.includes(platform)) return undefined;
  const hint = meant(platform);
  return (
    `unknown platform ${JSON.stringify(platform)} (expected one of ${KNOWN_PLATFORMS.join(', ')}, or backend: for a backend without a platform)` +
    (hint ? ` (did you mean "${hint}"?)` : '')
  );
}
