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

/**
 * The rules a config can be judged by before its model file exists: those that need neither the
 * model's inputs and outputs (which an export may still derive from its graph) nor its platform (which
 * the export may set). The export target applies them first, so a config Triton would refuse fails in
 * a second, not after a long export.
 */
export function checkConfigBeforeExport(config: ModelConfig): Problem[] {
  return [
    ...checkSchedulingChoice(config),
    ...checkDynamicBatching(config),
    ...checkSequenceBatching(config),
    ...checkResponseCache(config),
    ...checkInstanceGroups(config),
    ...checkVersionPolicy(config),
  ].filter((p) => !p.warning);
}
