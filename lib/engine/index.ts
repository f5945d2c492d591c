export { readFingerprint, formatFingerprint, parseTrtexecBanner, parseGpuLine, tensorRtVersionText, type Fingerprint, type GpuInfo, type TensorRtInfo } from './fingerprint';
export { trtexecArgs, resolveProfiles, profileMaxBatch, normalisedOptions, parseTrtVersion, hasFlag, FLAG_RELEASES, type Profile, type ShapeRange, type TrtexecArgsOptions } from './trtexec-args';
export { engineKey, canonicalJson, sha256File, onnxDigest, type EngineKeyParts } from './key';
export { EngineStore, resolveStoreDir, resolveMaxBytes, readPlanHeader, verifyPlan, DEFAULT_MAX_BYTES, type Manifest, type StoreResult } from './store';
export { buildEngine, type BuildEngineOptions, type BuildEngineResult } from './build-engine';
