export { readOnnxSignature, readOnnxSignatureSync } from './read-signature';
export { onnxElemTypeName, onnxElemTypeNumber, tritonTypeForOnnx } from './elem-types';
export { formatOnnxShape, formatOnnxSignature } from './format';
