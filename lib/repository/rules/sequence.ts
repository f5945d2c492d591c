import { protoEnumNames } from '../../../proto/model-config';
import type { ModelConfig } from '../../model-config';
import type { Problem } from './problem';
import { enumValue } from './problem';
import type { ModelSequenceBatching_Control } from '../../model-config/generated';

/** `inference.ModelSequenceBatching.Control.Kind`, read from proto/model_config.proto. */
const controlKinds = (): readonly string[] => protoEnumNames('inference.ModelSequenceBatching.Control.Kind');
const BOOLEAN_FIELDS = ['int32_false_true', 'fp32_false_true', 'bool_false_true'] as const;
const CORRID_TYPES = ['TYPE_UINT64', 'TYPE_INT64', 'TYPE_UINT32', 'TYPE_INT32', 'TYPE_STRING'];

function checkControl(control: ModelSequenceBatching_Control, at: string, kind: string): Problem[] {
  const given = BOOLEAN_FIELDS.filter((f) => (control[f] ?? []).length > 0);
  if (kind === 'CONTROL_SEQUENCE_CORRID') {
    const problems: Problem[] = given.map((f) => ({
      path: `${at}.${f}`,
      message: `${kind} takes 'data_type', not '${f}'`,
    }));
    const type = enumValue(control.data_type, 'inference.DataType');
    if (!CORRID_TYPES.includes(type)) {
      problems.push({
        path: `${at}.data_type`,
        message: `unexpected data type ${type} for ${kind}; allowed are ${CORRID_TYPES.join(', ')}`,
      });
    }
    return problems;
  }
  if (given.length === 0) {
    return [{ path: at, message: `${kind} must specify one of ${BOOLEAN_FIELDS.join(', ')}` }];
  }
  if (given.length > 1) {
    return [{ path: `${at}.${given[1]}`, message: `${kind} specifies both '${given[0]}' and '${given[1]}'` }];
  }
  const entries = (control[given[0]] ?? []).length;
  return entries === 2
    ? []
    : [{ path: `${at}.${given[0]}`, message: `'${given[0]}' must have exactly 2 entries (false, true) for ${kind}, got ${entries}` }];
}

export function checkSequenceBatching(config: ModelConfig): Problem[] {
  const sb = config.sequence_batching;
  if (!sb) return [];
  const problems: Problem[] = [];
  const tensors = new Map<string, number>();
  const kinds = new Map<string, string>();

  (sb.control_input ?? []).forEach((ci, i) => {
    const at = `sequence_batching.control_input[${i}]`;
    const name = ci.name ?? '';
    if (!name) problems.push({ path: `${at}.name`, message: 'sequence batching control tensor must have a name' });
    else if (tensors.has(name)) {
      problems.push({
        path: `${at}.name`,
        message: `control tensor '${name}' is specified for multiple control kinds (also control_input[${tensors.get(name)}])`,
      });
    } else tensors.set(name, i);

    const controls = ci.control ?? [];
    if (controls.length === 0) problems.push({ path: `${at}.control`, message: `control tensor '${name}' has no control` });
    if (controls.length > 1) {
      problems.push({ path: `${at}.control`, message: `control tensor '${name}' should have a single control kind, got ${controls.length}; Triton loads the model anyway`, warning: true });
    }
    controls.forEach((c, j) => {
      const cat = `${at}.control[${j}]`;
      const kind = enumValue(c.kind, 'inference.ModelSequenceBatching.Control.Kind');
      if (!controlKinds().includes(kind)) {
        problems.push({ path: `${cat}.kind`, message: `unknown control kind '${kind}'` });
        return;
      }
      const first = kinds.get(kind);
      if (first !== undefined) {
        problems.push({ path: `${cat}.kind`, message: `sequence batching specifies multiple ${kind} tensors (also ${first})` });
      } else kinds.set(kind, cat);
      problems.push(...checkControl(c, cat, kind));
    });
  });

  const maxBatch = config.max_batch_size ?? 0;
  const oldest = sb.oldest;
  if (oldest) {
    (oldest.preferred_batch_size ?? []).forEach((size, i) => {
      const at = `sequence_batching.oldest.preferred_batch_size[${i}]`;
      if (size <= 0) problems.push({ path: at, message: `preferred batch size must be positive, got ${size}` });
      else if (size > maxBatch) problems.push({ path: at, message: `preferred batch size ${size} exceeds max_batch_size ${maxBatch}` });
    });
  }
  const direct = sb.direct;
  if (direct) {
    const u = direct.minimum_slot_utilization ?? 0;
    if (u < 0 || u > 1) {
      problems.push({ path: 'sequence_batching.direct.minimum_slot_utilization', message: `must be in range (0.0, 1.0], got ${u}` });
    }
  }
  if (oldest && direct) {
    problems.push({ path: 'sequence_batching.oldest', message: 'only one of direct, oldest may be set' });
  }
  return problems;
}
