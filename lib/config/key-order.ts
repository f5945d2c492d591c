import type { ModelConfig } from '../model-config';

/** The keys config.pbtxt opens with, in this order; the rest follow in the order they were given. */
const LEADING_KEYS: ReadonlyArray<keyof ModelConfig> = ['name', 'platform', 'backend', 'max_batch_size', 'input', 'output'];

/** The config with its keys in the order config.pbtxt is written in, undefined values dropped. */
export function withLeadingKeys(config: ModelConfig): ModelConfig {
  const rest = Object.entries(config).filter(([k]) => !(LEADING_KEYS as readonly string[]).includes(k));
  const ordered = [...LEADING_KEYS.map((k) => [k, config[k]] as const), ...rest].filter(([, v]) => v !== undefined);
  // Keys and values are the config's own, only reordered.
  return Object.fromEntries(ordered) as ModelConfig;
}
