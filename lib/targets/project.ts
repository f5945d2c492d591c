/** What a target needs of the workspace to run for one model project (an executor, or a test, gives it). */
export interface ProjectRun {
  workspaceRoot: string;
  /** The project's triton.yaml (absolute, or relative to the workspace root). */
  specFile: string;
  /** The triton.yaml of the project that builds model `name`, if any (for `from:`). */
  resolveSpecFile: (name: string) => string | undefined;
  /** Progress lines and summaries. */
  log: (line: string) => void;
}
