import { describe, expect, it } from 'vitest';
import { readSpecSummary } from '../lib/model-spec/summary';
import { normalizeOptions } from './options';
import { buildProject, technologies } from './targets';

describe('targets', () => {
  it('names the technologies of the platform, backend and export', () => {
    expect(technologies(readSpecSummary('backend: python\n', '/m/p'))).toEqual(['triton', 'python']);
    expect(technologies(readSpecSummary('platform: pytorch_libtorch\nexport: { torch: { model: a:b } }', '/m/p'))).toEqual(['triton', 'pytorch']);
  });

  it('keeps options out of the engine target unless set, so the project hash stays stable', () => {
    const options = normalizeOptions({}, '/ws');
    const project = buildProject('m/t', readSpecSummary('platform: tensorrt_plan\nfrom: x\n', '/ws/m/t'), options);
    expect(project.targets?.engine.options).toEqual({});
    expect(Object.keys(project.targets ?? {})).toEqual(['engine', 'build', 'serve', 'tune']);
  });
});

describe('export target', () => {
  it("has nx.json's tritonRelease in its options (its cache key) for a torch export only: an unset opset is chosen to fit it", () => {
    const options = normalizeOptions({ tritonRelease: '24.01' }, '/ws');
    const exportOf = (yaml: string) => buildProject('models/m', readSpecSummary(yaml, '/ws/models/m'), options).targets?.export.options;
    expect(exportOf('platform: onnxruntime_onnx\nexport: { torch: { model: net:build } }\n')).toMatchObject({ tritonRelease: '24.01' });
    expect(exportOf('platform: onnxruntime_onnx\nexport: { file: model.onnx }\n')).not.toHaveProperty('tritonRelease');
    expect(exportOf('platform: onnxruntime_onnx\nexport: { command: [python, make.py, "{output}"] }\n')).not.toHaveProperty('tritonRelease');
    const without = buildProject('models/m', readSpecSummary('platform: onnxruntime_onnx\nexport: { torch: { model: net:build } }\n', '/ws/models/m'), normalizeOptions({}, '/ws'));
    expect(without.targets?.export.options).not.toHaveProperty('tritonRelease');
  });
});

describe('engine fingerprint runtime input', () => {
  const options = normalizeOptions({}, '/ws');
  const runtimeOf = (yaml: string, root = 'models/t') =>
    (buildProject(root, readSpecSummary(yaml, `/ws/${root}`), options).targets?.engine.inputs ?? []).find(
      (i): i is { runtime: string } => typeof i === 'object' && 'runtime' in i,
    )?.runtime;

  it('is this machine alone without builders, and adds the builders of this triton.yaml when it lists some', () => {
    expect(runtimeOf('platform: tensorrt_plan\nfrom: x\n')).toBe('node node_modules/nx-triton/dist/cli/main.js fingerprint');
    expect(runtimeOf('platform: tensorrt_plan\nfrom: x\ntensorrt: { builders: [http://gpu:8000] }\n', "models/it's")).toBe(
      `node node_modules/nx-triton/dist/cli/main.js fingerprint --builders-of 'models/it'\\''s/triton.yaml'`,
    );
  });
});

describe('gitignored model files', () => {
  const options = normalizeOptions({}, '/ws');
  const yaml = 'export:\n  torch: { model: net:build, checkpoint: ./weights/nn.pt }\nprevious_versions: { "1": old/v1, "2": ../escape }\n';
  const project = buildProject('models/m', readSpecSummary(yaml, '/ws/models/m'), options);

  it('names the checkpoint in the export inputs and kept versions in the build inputs, with includeIgnored on nx 24', () => {
    expect(options.includeIgnored).toBe(true); // this repository runs nx 24
    expect(project.targets?.export.inputs).toContainEqual({ fileset: '{projectRoot}/weights/nn.pt', includeIgnored: true });
    expect(project.targets?.build.inputs).toContainEqual({ fileset: '{projectRoot}/old/v1/**/*', includeIgnored: true });
    // A path that leaves the project is the spec's error to report, never an input.
    expect(JSON.stringify(project.targets)).not.toContain('escape');
  });

  it('adds nothing on nx 22 and 23, which know no includeIgnored', () => {
    const old = buildProject('models/m', readSpecSummary(yaml, '/ws/models/m'), { ...options, includeIgnored: false });
    expect(JSON.stringify(old.targets)).not.toContain('includeIgnored');
  });
});

describe('serve target', () => {
  const options = normalizeOptions({ tritonserver: '/opt/tritonserver/bin/tritonserver' }, '/ws');
  const yaml = 'platform: ensemble\nensemble_scheduling: { step: [ { model_name: pre, model_version: -1 } ] }\n';
  const serve = buildProject('models/pipe', readSpecSummary(yaml, '/ws/models/pipe'), options).targets?.serve;

  it('is continuous, never cached, and runs after this build and the builds of the models it needs', () => {
    expect(serve).toMatchObject({
      executor: 'nx-triton:serve',
      continuous: true,
      cache: false,
      dependsOn: ['build', { target: 'build', dependencies: true }],
    });
    // Target options are hashed into every task of the project: the interpreter and the server
    // binary, which no build depends on, are read from nx.json by the executor instead.
    expect(serve?.options).toEqual({ repository: 'dist/model-repository' });
    expect(serve).not.toHaveProperty('inputs');
    expect(serve).not.toHaveProperty('outputs');
  });

  it('is ready when the executor signals it, once Triton answers /v2/health/ready on the port it really has (nx 24); no readyWhen on nx 22/23', () => {
    expect(options.readyWhen).toBe(true); // this repository runs nx 24
    // Issue 22 N17: a url probe is filled from the options before the task starts, so --httpPort=0 polled port 0.
    expect(serve?.readyWhen).toEqual({ signal: true });
    const old = buildProject('models/pipe', readSpecSummary(yaml, '/ws/models/pipe'), { ...options, readyWhen: false }).targets?.serve;
    expect(old?.continuous).toBe(true);
    expect(old).not.toHaveProperty('readyWhen');
  });
});

describe('deploy target', () => {
  const yaml = 'platform: ensemble\nensemble_scheduling: { step: [ { model_name: pre, model_version: -1 } ] }\n';
  const targetsWith = (pluginOptions: Record<string, unknown>) => buildProject('models/pipe', readSpecSummary(yaml, '/ws/models/pipe'), normalizeOptions(pluginOptions, '/ws')).targets ?? {};

  it('exists only when nx.json deploy has an environment', () => {
    expect(targetsWith({})).not.toHaveProperty('deploy');
    expect(targetsWith({ deploy: {} })).not.toHaveProperty('deploy');
  });

  it('has a configuration per environment, the first the default; never cached; after this build and the deploys of the models it uses', () => {
    const deploy = targetsWith({
      deploy: {
        staging: { repository: 's3://127.0.0.1:9000/models/staging', servers: ['http://127.0.0.1:8000'] },
        production: { repository: 's3://https://s3.example.com:443/models/prod', servers: ['https://triton-0:8000'] },
      },
    }).deploy;
    expect(deploy).toEqual({
      executor: 'nx-triton:deploy',
      options: { repository: 'dist/model-repository' },
      configurations: { staging: { environment: 'staging' }, production: { environment: 'production' } },
      defaultConfiguration: 'staging',
      cache: false,
      dependsOn: ['build', { target: 'deploy', dependencies: true }],
      metadata: expect.objectContaining({ help: { command: 'npx nx-triton deploy --help', example: { options: { environment: 'staging' } } } }),
    });
    // Repositories and servers stay out of the target (they would be in every task's hash of the project).
    expect(JSON.stringify(deploy)).not.toContain('s3://');
    expect(JSON.stringify(deploy)).not.toContain('triton-0');
  });

  it('refuses a malformed environment with one line naming the key', () => {
    expect(() => targetsWith({ deploy: { staging: { repository: 's3://x:1/b/p', servers: 'http://a:1' } } })).toThrow(
      'nx.json: plugin nx-triton option deploy.staging.servers must be a list of Triton URLs',
    );
    expect(() => targetsWith({ deploy: { staging: { servers: [] } } })).toThrow('nx.json: plugin nx-triton option deploy.staging.repository must be s3://host:port/bucket/prefix or a directory');
    expect(() => targetsWith({ deploy: { staging: { repository: '/srv/m', allowHTTP: true } } })).toThrow(
      'nx.json: plugin nx-triton option deploy.staging.allowHTTP: unknown key (expected repository, servers, allowHttp)',
    );
    expect(() => targetsWith({ deploy: { 'my env': { repository: '/srv/m' } } })).toThrow(/environment name "my env" must be letters, digits/);
    expect(() => targetsWith({ buildTargetName: 'deploy', deploy: { staging: { repository: '/srv/m' } } })).toThrow(/cannot be "deploy"/);
  });
});

describe('tune target', () => {
  const options = normalizeOptions({ perfAnalyzer: '/opt/sdk/perf_analyzer', repository: 'out/repo' }, '/ws');
  const project = buildProject('models/sleepy', readSpecSummary('backend: python\nmax_batch_size: 8\n', '/ws/models/sleepy'), options);

  it('is always there, never cached, alone, after this build, with the report as its output', () => {
    expect(project.targets?.tune).toEqual({
      executor: 'nx-triton:tune',
      options: { repository: 'out/repo' },
      cache: false,
      dependsOn: ['build'],
      parallelism: false,
      outputs: ['{workspaceRoot}/dist/models/sleepy/tune'],
      metadata: expect.objectContaining({ technologies: ['triton', 'python'] }),
    });
    // perfAnalyzer (like python and tritonserver) is read from nx.json by the executor: no task hash depends on it.
    expect(JSON.stringify(project.targets)).not.toContain('/opt/sdk/perf_analyzer');
    expect(options.perfAnalyzer).toBe('/opt/sdk/perf_analyzer');
  });

  it('takes the build target under its configured name, and keeps the name tune for itself', () => {
    const renamed = normalizeOptions({ buildTargetName: 'repo-entry' }, '/ws');
    expect(buildProject('models/m', readSpecSummary('backend: python\n', '/ws/models/m'), renamed).targets?.tune.dependsOn).toEqual(['repo-entry']);
    expect(() => normalizeOptions({ buildTargetName: 'tune' }, '/ws')).toThrow(
      'nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName cannot be "tune" (the tune target\'s name)',
    );
    expect(() => normalizeOptions({ perfAnalyzer: 7 } as never, '/ws')).toThrow('nx-triton: plugin option "perfAnalyzer" must be a string (got 7)');
  });
});
