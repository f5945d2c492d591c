import { hasControlChars, printable } from '../errors';

/**
 * Characters that make a path a glob or a template in Nx: a model name is part of its targets'
 * `outputs` (`dist/models/<name>/export`, `<repository>/<name>`), which Nx interpolates (`{...}`) and
 * expands as globs (`*`, `?`, `[...]`, `{a,b}`, `!(...)`, `+(...)`, `@(...)`; nx's
 * src/native/glob/glob_parser.rs). A model named `*` made its outputs every model's, and a cache
 * hit then restored other models' entries over theirs (issue 22, N3). Triton itself takes them:
 * its 2.51 server (nvidia-pytriton 0.7.0) loads python models named `a*b`, `c[1]`, `d?e` and `{x}`.
 */
const NX_PATTERN_CHARS = /[*?[\]{}()!]/;

/**
 * Why a string cannot be a model name of nx-triton, or undefined when it can. A Triton model name
 * is a directory name in the repository; nx-triton's is also an Nx project name and part of its
 * targets' outputs, which takes glob and template characters out.
 */
export function checkModelName(name: string): string | undefined {
  if (name.length === 0) return 'a model name cannot be empty';
  if (name === '.' || name === '..') return `a model name cannot be "${name}"`;
  if (/[/\\]/.test(name)) return `a model name cannot contain "/" or "\\" (got ${JSON.stringify(name)})`;
  // Control characters, C1 and bidi controls included: they hide or reorder the text a name is printed in.
  if (hasControlChars(name)) return `a model name cannot contain control characters (got ${printable(JSON.stringify(name))})`;
  if (name.trim() !== name) return `a model name cannot start or end with whitespace (got ${JSON.stringify(name)})`;
  if (name.length > 255) return 'a model name cannot be longer than 255 characters (it is a directory name)';
  const glob = NX_PATTERN_CHARS.exec(name);
  if (glob) {
    return (
      `a model name cannot contain "${glob[0]}" (got ${JSON.stringify(name)}): the name is part of the Nx outputs of its targets, ` +
      'where * ? [ ] { } ( ) ! make a glob or a template over other models (Triton takes such names; nx-triton does not)'
    );
  }
  return undefined;
}
