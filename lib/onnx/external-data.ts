import { posix } from 'node:path';

/**
 * An ONNX model's external-data locations as every reader and copier of them takes them: the
 * location is relative to the directory of the `.onnx` file (ONNX's external-data spec), it names a
 * file beside it or below it, and one file is one location however it is spelled.
 */

/**
 * Why a location cannot be used, or undefined. `..` is refused even where it comes back down
 * (`sub/../w.bin`): onnxruntime opens the path as written, so `sub/` would have to exist in Triton's
 * `model.onnx/` directory too, and nothing that copies the model carries an empty `sub/`.
 */
export function externalDataProblem(location: string): string | undefined {
  if (location === '' || location.includes('\0')) return 'it is empty or contains a NUL character';
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) return 'it is an absolute path';
  const parts = location.split(/[/\\]/);
  const normal = posix.normalize(parts.join('/'));
  if (normal === '..' || normal.startsWith('../')) return 'it leads outside the directory of the ONNX file';
  if (parts.includes('..')) return 'it has a ".." component';
  if (parts.every((p) => p === '' || p === '.')) return 'it names the directory itself';
  return undefined;
}

/** `./w.bin` and `w.bin//` are `w.bin`: the spelling that names the file. Only for locations without a problem. */
export function normalExternalData(location: string): string {
  return posix.normalize(location).replace(/\/+$/, '');
}

/**
 * Each file once, by its normal spelling, sorted: one file named twice (`w.bin`, `./w.bin`) is copied,
 * hashed and sent once. Locations with a problem are kept as written, for the caller to report.
 */
export function uniqueExternalData(locations: readonly string[]): string[] {
  return [...new Set(locations.map((l) => (externalDataProblem(l) ? l : normalExternalData(l))))].sort();
}
