export { readRepository, filesNamedByConfig, type RepositoryListing, type RepositoryModel, type VersionDir } from './read-repository';
export { configToYaml, type ImportedKeys } from './to-yaml';
export {
  planImport,
  findClashes,
  assertNoClashes,
  normalizeDirectory,
  type ImportPlan,
  type ModelPlan,
  type PlannedCopy,
  type ImportOptions,
  type Workspace,
} from './plan';
export { writeImportedFiles, summarizeImport, type WriteOptions } from './copy-files';
