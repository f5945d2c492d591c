/**
 * Why a string cannot be a Triton model name (it is also a directory name in the repository),
 * or undefined when it can.
 */
export function checkModelName(name: string): string | undefined {
  if (name.length === 0) return 'a model name cannot be empty';
  if (name === '.' || name === '..') return `a model name cannot be "${name}"`;
  if (/[/\\]/.test(name)) return `a model name cannot contain "/" or "\\" (got ${JSON.stringify(name)})`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `a model name cannot contain control characters (got ${JSON.stringify(name)})`;
  if (name.trim() !== name) return `a model name cannot start or end with whitespace (got ${JSON.stringify(name)})`;
  if (name.length > 255) return 'a model name cannot be longer than 255 characters (it is a directory name)';
  return undefined;
}
