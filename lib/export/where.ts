import { formatDiagnostic } from '../errors';
import { UserError } from '../errors';
import type { ModelSpec } from '../model-spec/types';

/** A UserError located at a key of the model's triton.yaml (`file:line:col: export.torch.model: ...`). */
export function exportError(spec: ModelSpec, path: string, message: string): UserError {
  const pos = spec.positions[path] ?? spec.positions['export'];
  return new UserError(formatDiagnostic({ file: spec.file, line: pos?.line, col: pos?.col, path, message }));
}
