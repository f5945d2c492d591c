import type { ModelConfig } from '../../model-config';
import { checkBatchIO, checkDynamicBatching, checkResponseCache, checkSchedulingChoice, checkVersionPolicy } from './batching';
import { checkEnsembleStructure } from './ensemble';
import { checkInstanceGroups } from './instance-group';
import { checkIO } from './io-shape';
import { checkNamePlatform } from './name-platform';
import type { Problem } from './problem';
import { checkSequenceBatching } from './sequence';

export type { Problem } from './problem';
export { checkEnsemble } from './ensemble';
export { checkModelFiles, completeBackend, loadedVersions, versionDirs, withOnnxIo } from './layout';

/**
 * Every rule Triton applies to a config when it loads the model that can be decided from the
 * config alone. `dirName`, when given, is the model directory the config sits in.
 */
export function checkModelConfig(config: ModelConfig, ctx: { dirName?: string } = {}): Problem[] {
  return [
    ...checkNamePlatform(config, ctx),
    ...checkIO(config),
    ...checkBatchIO(config),
    ...checkSchedulingChoice(config),
    ...checkDynamicBatching(config),
    ...checkSequenceBatching(config),
    ...checkResponseCache(config),
    ...checkInstanceGroups(config),
    ...checkVersionPolicy(config),
    ...checkEnsembleStructure(config),
  ];
}
