import { posix } from 'node:path';
import { SCHEMA_FILE } from './paths';

/** Where the schema lies in a user's workspace: the installed package. */
export const INSTALLED_SCHEMA = `node_modules/nx-triton/${SCHEMA_FILE}`;

/**
 * The first line of a generated triton.yaml in `projectDir` (workspace-relative): tells
 * yaml-language-server (VS Code's YAML extension, Nx Console's editors) which schema to use, by a
 * path relative to the file, so it resolves in any clone of the workspace.
 */
export function schemaModeline(projectDir: string): string {
  return `# yaml-language-server: $schema=${posix.relative(projectDir, INSTALLED_SCHEMA)}\n`;
}
