// Fresh Nx workspaces for benchmarks 1 and 2: the packed tarball installed once into a template,
// node_modules hard-link-copied into each workspace so they are identical but separate.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, ensureDir, log, remove, repoRoot, run, timed, workDir } from './util.mjs';

export const NX_ENV = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NX_SKIP_LOG_GROUPING: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };

let template;

function packTarball() {
  const dir = ensureDir(join(workDir, 'pack'));
  for (const f of readdirSync(dir)) remove(join(dir, f));
  run(['npm', 'pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack wrote no tarball in ${dir}`);
  return join(dir, tgz);
}

/** The template workspace with nx, @nx/devkit and the packed nx-triton installed (once per bench run). */
function templateWorkspace() {
  if (template) return template;
  const root = join(workDir, 'template');
  remove(root);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), `${JSON.stringify({ name: 'bench-ws', version: '0.0.0', private: true }, null, 2)}\n`);
  const tgz = packTarball();
  log(`installing nx@24.0.6, @nx/devkit@24.0.0 and ${tgz} into ${root}`);
  run(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '-D', 'nx@24.0.6', '@nx/devkit@24.0.0', tgz], {
    cwd: root,
    env: { ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  return (template = root);
}

/**
 * A workspace at bench/.work/<name>: the template's packages, `nx.json` with the given plugins,
 * `files` (workspace-relative path -> contents) written, and a git repository (as users have).
 */
export function createWorkspace(name, { plugins, files }) {
  const from = templateWorkspace();
  const root = join(workDir, name);
  remove(root);
  mkdirSync(root, { recursive: true });
  run(['cp', '-al', join(from, 'node_modules'), join(root, 'node_modules')]);
  run(['cp', join(from, 'package.json'), join(from, 'package-lock.json'), root]);
  const setPlugins = (list) =>
    writeFileSync(join(root, 'nx.json'), `${JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json', plugins: list }, null, 2)}\n`);
  setPlugins(plugins);
  mkdirSync(join(root, 'tools'));
  copyFileSync(join(benchDir, 'lib', 'empty-plugin.cjs'), join(root, 'tools', 'empty-plugin.js'));
  writeFileSync(join(root, '.gitignore'), 'node_modules\ndist\n.nx\n');
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
  }
  spawnSync('git', ['init', '-q'], { cwd: root });
  const nxBin = join(root, 'node_modules', '.bin', 'nx');
  if (!existsSync(nxBin)) throw new Error(`${nxBin} missing after the install`);
  return {
    root,
    /** Runs `nx <args>` to completion; returns the wall time in ms and the output. */
    nx: (args, env = {}) => timed([nxBin, ...args], { cwd: root, env: { ...NX_ENV, ...env } }),
    /** Rewrites nx.json's plugins (e.g. to add EMPTY_PLUGIN). */
    setPlugins,
    /** Removes the workspace unless BENCH_KEEP=1. */
    remove: () => process.env.BENCH_KEEP === '1' || remove(root),
  };
}

/** The diagnostic plugin every workspace holds (see empty-plugin.cjs); not registered unless asked. */
export const EMPTY_PLUGIN = './tools/empty-plugin.js';

/**
 * A project.json for a baseline model: the same export -> build task graph and cache settings as
 * nx-triton infers, done by nx:run-commands. `exportCommand` / `buildCommand` get the export
 * directory and the repository entry (workspace-relative).
 */
export function runCommandsProject(name, { exportCommand, buildCommand }) {
  const exported = `dist/models/${name}/export`;
  const entry = `dist/model-repository/${name}`;
  return {
    name,
    targets: {
      export: {
        executor: 'nx:run-commands',
        cache: true,
        inputs: ['{projectRoot}/**/*'],
        outputs: [`{workspaceRoot}/${exported}`],
        options: { command: exportCommand(exported) },
      },
      build: {
        executor: 'nx:run-commands',
        cache: true,
        dependsOn: ['export'],
        inputs: ['{projectRoot}/**/*', { dependentTasksOutputFiles: '**/*', transitive: true }],
        outputs: [`{workspaceRoot}/${entry}`],
        options: { command: buildCommand(exported, entry) },
      },
    },
  };
}

export function removeTemplate() {
  if (template) remove(template);
  template = undefined;
}
