export { deriveModelConfig, formatShape, type ModelSource } from './derive';
