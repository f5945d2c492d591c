/**
 * Files an import never brings into a workspace (issue 22, N1): each one makes or changes an Nx
 * project, a package, or what Nx and git see. A `project.json` or `triton.yaml` planted in a version
 * directory became a project whose targets ran at the next `nx run-many -t build`; an ignore file
 * (.gitignore, .nxignore, .ignore: Nx's file walker reads all three, in any directory) would hide
 * files from the hashing of the projects around it.
 *
 * Nx core and this plugin infer projects from project.json, package.json and triton.yaml; the
 * official Nx plugins from the config files of their tools, listed by pattern below. A plugin of a
 * workspace's own that infers projects from other names is not known here: the README says to look
 * at `nx show projects` after importing a repository one does not trust.
 */
const NAMES = new Set([
  // Nx and this plugin
  'project.json',
  'package.json',
  'nx.json',
  'workspace.json',
  'triton.yaml',
  '.nx',
  // ignore files and git's own
  '.gitignore',
  '.nxignore',
  '.ignore',
  '.gitattributes',
  '.gitmodules',
  '.git',
  // package managers and workspaces
  'lerna.json',
  'pnpm-workspace.yaml',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  // what Nx plugins infer projects from (Gradle, Maven, .NET, Rust, Go, Python, Docker)
  'build.gradle',
  'build.gradle.kts',
  'settings.gradle',
  'settings.gradle.kts',
  'pom.xml',
  'Cargo.toml',
  'go.mod',
  'go.work',
  'pyproject.toml',
  'Dockerfile',
]);

/** Config files of the tools the official Nx plugins infer targets from: `<tool>.config.<ext>`, `.eslintrc*`, `tsconfig*.json`, `*.csproj`. */
const PATTERNS = [
  /^(jest|vite|vitest|eslint|webpack|rollup|rspack|rsbuild|playwright|cypress|next|remix|nuxt|astro|storybook|detox|expo|metro|react-router)\.config\.[cm]?[jt]s$/,
  /^\.eslintrc(\.(json|js|cjs|ya?ml))?$/,
  /^tsconfig.*\.json$/,
  /\.(cs|fs|vb)proj$/,
];

/** Why an import leaves the file `name` out, or undefined when it may be imported. */
export function workspaceFileRefusal(name: string): string | undefined {
  if (!NAMES.has(name) && !PATTERNS.some((p) => p.test(name))) return undefined;
  return (
    `an import never brings in ${name}: it would make or change an Nx project, a package or what Nx and git ignore ` +
    '(remove it from the repository, or import a copy without it)'
  );
}
