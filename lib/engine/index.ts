export { readFingerprint, formatFingerprint, parseTrtexecBanner, parseGpuLine, tensorRtVersionText, type Fingerprint, type GpuInfo, type TensorRtInfo } from './fingerprint';
export { trtexecArgs, normalisedOptions, EMITTED_FLAGS, type PlanPaths } from './trtexec-args';
export { RELEASES, tensorRtRelease, allPrecisions, allHardwareLevels, type ReleaseEntry, type ReleaseTable, type TensorRtRelease } from '../releases/tensorrt';
export { engineKey, canonicalJson, sha256File, onnxDigest, type EngineKeyParts } from './key';
export { EngineStore, resolveStoreDir, resolveMaxBytes, readPlanHeader, verifyPlan, DEFAULT_MAX_BYTES, type Manifest, type StoreResult } from './store';
export { buildEngine, type BuildEngineOptions, type BuildEngineResult } from './build-engine';
