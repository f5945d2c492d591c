import { protoEnumNames } from '../../../proto/model-config';
import type { ModelConfig } from '../../model-config';
import type { Problem } from './problem';
import { isEnsemble } from '../../model-config';
import { isTensorRt } from '../../platforms';

/** `inference.ModelInstanceGroup.Kind`, read from proto/model_config.proto. */
const kinds = (): readonly string[] => protoEnumNames('inference.ModelInstanceGroup.Kind');

/** Triton's ValidateInstanceGroup, less what needs the server's GPUs. */
export function checkInstanceGroups(config: ModelConfig): Problem[] {
  const groups = config.instance_group ?? [];
  if (isEnsemble(config)) {
    return groups.length > 0
      ? [{ path: 'instance_group', message: 'instance group should not be specified for an ensemble' }]
      : [];
  }
  const problems: Problem[] = [];
  const trt = isTensorRt(config);
  groups.forEach((g, i) => {
    const at = `instance_group[${i}]`;
    // Absent is KIND_AUTO (proto3 drops the default); an enum number the proto does not name stays a number.
    const kind = String(g.kind ?? kinds()[0]);
    if (!kinds().includes(kind)) {
      problems.push({ path: `${at}.kind`, message: `unknown kind '${kind}' (expected one of ${kinds().join(', ')})` });
    }
    if (trt && (kind === 'KIND_CPU' || kind === 'KIND_MODEL')) {
      // tensorrt_backend src/instance_state.cc (ModelInstanceState::Create): "TensorRT backend supports only GPU device".
      problems.push({ path: `${at}.kind`, message: `Triton's TensorRT backend runs GPU instances only, got ${kind} (use KIND_GPU or KIND_AUTO)` });
    }
    const gpus = g.gpus ?? [];
    if (gpus.length > 0 && (kind === 'KIND_CPU' || kind === 'KIND_MODEL')) {
      problems.push({ path: `${at}.gpus`, message: `instance group has kind ${kind} but specifies one or more GPUs` });
    }
    gpus.forEach((id, j) => {
      if (id < 0 || !Number.isInteger(id)) {
        problems.push({ path: `${at}.gpus[${j}]`, message: `invalid gpu id ${id}: gpu ids are non-negative integers` });
      }
    });
    // count 0 (or absent) means the default; only a negative count is an error.
    if (g.count !== undefined && g.count < 0) {
      problems.push({ path: `${at}.count`, message: `count must be >= 1, got ${g.count}; Triton loads the model anyway`, warning: true });
    }
    const profiles = g.profile ?? [];
    if (profiles.length > 0 && !trt) {
      problems.push({
        path: `${at}.profile`,
        message: `profile is only supported for TensorRT models (platform tensorrt_plan), got platform '${config.platform ?? ''}'`,
      });
    } else {
      profiles.forEach((p, j) => {
        if (!/^\d+$/.test(p.trim())) {
          problems.push({
            path: `${at}.profile[${j}]`,
            message: `invalid profile '${p}': it should be the string form of a non-negative integer`,
          });
        }
      });
    }
  });
  return problems;
}
