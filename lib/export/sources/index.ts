import type { ExportKind, ExportSources } from '../../model-spec/plugin-keys';
import { commandSource } from './command';
import type { ExportSource } from './source';
import { fileSource } from './file';
import { torchSource } from './torch';

/** The sources by name: the type asks for one per EXPORT_SOURCES entry. */
export const SOURCES: { [K in ExportKind]: ExportSource<ExportSources[K]> } = {
  torch: torchSource,
  command: commandSource,
  file: fileSource,
};

export type { ExportSource, SourceResult, SourceRun } from './source';
