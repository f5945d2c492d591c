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

type Rule = (config: ModelConfig, ctx: { dirName?: string }) => Problem[];

/**
 * Every rule Triton applies to a config when it loads the model that can be decided from the config
 * alone, in the order they report. `beforeExport`: the rule needs neither the model's inputs and
 * outputs (which an export may still derive from its graph) nor its platform (which the export may set),
 * so it can judge a config before its model file exists.
 */
const RULES: ReadonlyArray<{ check: Rule; beforeExport: boolean }> = [
  { check: checkNamePlatform, beforeExport: false },
  { check: checkIO, beforeExport: false },
  { check: checkBatchIO, beforeExport: false },
  { check: checkSchedulingChoice, beforeExport: true },
  { check: checkDynamicBatching, beforeExport: true },
  { check: checkSequenceBatching, beforeExport: true },
  { check: checkResponseCache, beforeExport: true },
  { check: checkInstanceGroups, beforeExport: true },
  { check: checkVersionPolicy, beforeExport: true },
  { check: checkEnsembleStructure, beforeExport: false },
];

/** Every rule of RULES. `dirName`, when given, is the model directory the config sits in. */
export function checkModelConfig(config: ModelConfig, ctx: { dirName?: string } = {}): Problem[] {
  return RULES.flatMap((r) => r.check(config, ctx));
}

/**
 * The rules of RULES that can judge a config before its model file exists, errors only. The export
 * target applies them first, so a config Triton would refuse fails in a second, not after a long export.
 */
export function checkConfigBeforeExport(config: ModelConfig): Problem[] {
  return RULES.filter((r) => r.beforeExport)
    .flatMap((r) => r.check(config, {}))
    .filter((p) => !p.warning);
}
