import type { ExecutorContext } from '@nx/devkit';

/**
 * The ExecutorContext Nx hands an executor run for `projectName` in the workspace `root`: `projects`
 * maps each project name to its root, `nxJson` is nx.json's content.
 */
export function executorContext(
  root: string,
  projectName: string,
  opts: { projects: Record<string, string>; nxJson?: Record<string, unknown>; targetName?: string; configurationName?: string },
): ExecutorContext {
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectName,
    targetName: opts.targetName,
    configurationName: opts.configurationName,
    projectsConfigurations: { version: 2, projects: Object.fromEntries(Object.entries(opts.projects).map(([name, r]) => [name, { root: r }])) },
    nxJsonConfiguration: opts.nxJson ?? {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as unknown as ExecutorContext;
}

/** What `fn` printed while it ran: stdout (console.log and console.info) and stderr (console.error), with its result. */
export async function printed<T>(fn: () => Promise<T>): Promise<{ result: T; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { info: console.info, log: console.log, error: console.error };
  console.info = console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    return { result: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    Object.assign(console, saved);
  }
}
