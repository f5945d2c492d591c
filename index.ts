/** nx-triton's Nx plugin entry: nx.json `{ "plugin": "nx-triton", "options": { ... } }`. */
export const name = 'nx-triton';
export { createNodes, createNodesV2 } from './plugin/create-nodes';
export { createDependencies } from './plugin/create-dependencies';
export type { TritonPluginOptions } from './plugin/options';
