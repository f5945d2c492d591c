import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../lib/system/package-root';
import { MODEL_CONFIG_TYPES_FILE, modelConfigTypesText } from './model-config-types';

describe('lib/model-config/generated.ts', () => {
  it('is what the generator writes from proto/model_config.proto (run `npm run build` after editing the proto)', () => {
    expect(readFileSync(join(packageRoot(), MODEL_CONFIG_TYPES_FILE), 'utf8')).toBe(modelConfigTypesText());
  });

  it('declares enums as unions of their names and 64-bit integers as number | string', () => {
    const text = modelConfigTypesText();
    expect(text).toContain("export type ModelInstanceGroup_Kind = 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';");
    expect(text).toContain('  dims?: Array<number | string>;');
    expect(text).toContain('  priority_queue_policy?: Record<string, ModelQueuePolicy>;');
    expect(text).toContain('  input?: ModelInput[];');
  });
});
