/**
 * config.pbtxt <-> ModelConfig: protobuf text format as Triton (libprotobuf `TextFormat`) reads it.
 *
 * In proto/text-format/:
 * - normalize.ts: a plain ModelConfig checked against proto/model_config.proto, made canonical;
 * - write.ts: ModelConfig -> text through protobufjs' `toText`;
 * - tokenize.ts and parse.ts: text -> ModelConfig with our own tokenizer and parser.
 *
 * Why the parser is ours: protobufjs' `fromText` reports an error with a line but no column, words
 * its errors unlike protoc, and accepts a map entry with two keys (`key: "a" key: "b"`), which
 * protoc rejects. Ours follows libprotobuf's `TextFormat::Parser` rules and messages, with line
 * and column, so a bad config.pbtxt is reported as Triton would report it, at its place.
 */
export { canonicalFloat32 } from './text-format/common';
export { canonicalConfig, canonicalConfigBytes, configFromMessage, configsEqual } from './text-format/normalize';
export { parsePbtxt } from './text-format/parse';
export { toPbtxt } from './text-format/write';
