import { formatDiagnostic, UserError } from '../errors';
import { placed } from '../model-spec/positions';
import type { ModelSpec } from '../model-spec/types';

/** A UserError located at a key of the model's triton.yaml (`file:line:col: export.torch.model: ...`), else at `export:`. */
export function exportError(spec: ModelSpec, path: string, message: string): UserError {
  const d = placed(spec, path, message);
  const at = d.line === undefined ? placed(spec, 'export', message) : d;
  return new UserError(formatDiagnostic({ ...at, path }));
}
