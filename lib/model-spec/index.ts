export { loadSpec, parseSpec, type LoadSpecOptions } from './load';
export { checkModelName } from './model-name';
export { resolveEnum, enumForms, unknownEnumMessage } from './enums';
export { PLUGIN_KEYS } from './plugin-keys';
export { PRECISIONS, HARDWARE_COMPATIBILITY, workspaceMiB } from './tensorrt';
export { MAX_SPEC_BYTES } from './yaml-source';
export { closest, didYouMean } from './suggest';
