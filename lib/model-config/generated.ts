// Generated from proto/model_config.proto by proto/model-config-types.ts (`npm run build`); do not edit.

export type DataType = 'TYPE_INVALID' | 'TYPE_BOOL' | 'TYPE_UINT8' | 'TYPE_UINT16' | 'TYPE_UINT32' | 'TYPE_UINT64' | 'TYPE_INT8' | 'TYPE_INT16' | 'TYPE_INT32' | 'TYPE_INT64' | 'TYPE_FP16' | 'TYPE_FP32' | 'TYPE_FP64' | 'TYPE_STRING' | 'TYPE_BF16';

export interface ModelRateLimiter {
  resources?: ModelRateLimiter_Resource[];
  priority?: number;
}

export interface ModelRateLimiter_Resource {
  name?: string;
  global?: boolean;
  count?: number;
}

export interface ModelInstanceGroup {
  name?: string;
  kind?: ModelInstanceGroup_Kind;
  count?: number;
  rate_limiter?: ModelRateLimiter;
  gpus?: number[];
  secondary_devices?: ModelInstanceGroup_SecondaryDevice[];
  profile?: string[];
  passive?: boolean;
  host_policy?: string;
}

export type ModelInstanceGroup_Kind = 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';

export interface ModelInstanceGroup_SecondaryDevice {
  kind?: ModelInstanceGroup_SecondaryDevice_SecondaryDeviceKind;
  device_id?: number | string;
}

export type ModelInstanceGroup_SecondaryDevice_SecondaryDeviceKind = 'KIND_NVDLA';

export interface ModelTensorReshape {
  shape?: Array<number | string>;
}

export interface ModelInput {
  name?: string;
  data_type?: DataType;
  format?: ModelInput_Format;
  dims?: Array<number | string>;
  reshape?: ModelTensorReshape;
  is_shape_tensor?: boolean;
  allow_ragged_batch?: boolean;
  optional?: boolean;
  is_non_linear_format_io?: boolean;
}

export type ModelInput_Format = 'FORMAT_NONE' | 'FORMAT_NHWC' | 'FORMAT_NCHW';

export interface ModelOutput {
  name?: string;
  data_type?: DataType;
  dims?: Array<number | string>;
  reshape?: ModelTensorReshape;
  label_filename?: string;
  is_shape_tensor?: boolean;
  is_non_linear_format_io?: boolean;
}

export interface BatchInput {
  kind?: BatchInput_Kind;
  target_name?: string[];
  data_type?: DataType;
  source_input?: string[];
}

export type BatchInput_Kind = 'BATCH_ELEMENT_COUNT' | 'BATCH_ACCUMULATED_ELEMENT_COUNT' | 'BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO' | 'BATCH_MAX_ELEMENT_COUNT_AS_SHAPE' | 'BATCH_ITEM_SHAPE' | 'BATCH_ITEM_SHAPE_FLATTEN';

export interface BatchOutput {
  target_name?: string[];
  kind?: BatchOutput_Kind;
  source_input?: string[];
}

export type BatchOutput_Kind = 'BATCH_SCATTER_WITH_INPUT_SHAPE';

export interface ModelVersionPolicy {
  latest?: ModelVersionPolicy_Latest;
  all?: ModelVersionPolicy_All;
  specific?: ModelVersionPolicy_Specific;
}

export interface ModelVersionPolicy_Latest {
  num_versions?: number;
}

export interface ModelVersionPolicy_All {
}

export interface ModelVersionPolicy_Specific {
  versions?: Array<number | string>;
}

export interface ModelOptimizationPolicy {
  graph?: ModelOptimizationPolicy_Graph;
  priority?: ModelOptimizationPolicy_ModelPriority;
  cuda?: ModelOptimizationPolicy_Cuda;
  execution_accelerators?: ModelOptimizationPolicy_ExecutionAccelerators;
  input_pinned_memory?: ModelOptimizationPolicy_PinnedMemoryBuffer;
  output_pinned_memory?: ModelOptimizationPolicy_PinnedMemoryBuffer;
  gather_kernel_buffer_threshold?: number;
  eager_batching?: boolean;
}

export interface ModelOptimizationPolicy_Graph {
  level?: number;
}

export type ModelOptimizationPolicy_ModelPriority = 'PRIORITY_DEFAULT' | 'PRIORITY_MAX' | 'PRIORITY_MIN';

export interface ModelOptimizationPolicy_Cuda {
  graphs?: boolean;
  busy_wait_events?: boolean;
  graph_spec?: ModelOptimizationPolicy_Cuda_GraphSpec[];
  output_copy_stream?: boolean;
}

export interface ModelOptimizationPolicy_Cuda_GraphSpec {
  batch_size?: number;
  input?: Record<string, ModelOptimizationPolicy_Cuda_GraphSpec_Shape>;
  graph_lower_bound?: ModelOptimizationPolicy_Cuda_GraphSpec_LowerBound;
}

export interface ModelOptimizationPolicy_Cuda_GraphSpec_Shape {
  dim?: Array<number | string>;
}

export interface ModelOptimizationPolicy_Cuda_GraphSpec_LowerBound {
  batch_size?: number;
  input?: Record<string, ModelOptimizationPolicy_Cuda_GraphSpec_Shape>;
}

export interface ModelOptimizationPolicy_ExecutionAccelerators {
  gpu_execution_accelerator?: ModelOptimizationPolicy_ExecutionAccelerators_Accelerator[];
  cpu_execution_accelerator?: ModelOptimizationPolicy_ExecutionAccelerators_Accelerator[];
}

export interface ModelOptimizationPolicy_ExecutionAccelerators_Accelerator {
  name?: string;
  parameters?: Record<string, string>;
}

export interface ModelOptimizationPolicy_PinnedMemoryBuffer {
  enable?: boolean;
}

export interface ModelQueuePolicy {
  timeout_action?: ModelQueuePolicy_TimeoutAction;
  default_timeout_microseconds?: number | string;
  allow_timeout_override?: boolean;
  max_queue_size?: number;
}

export type ModelQueuePolicy_TimeoutAction = 'REJECT' | 'DELAY';

export interface ModelDynamicBatching {
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number | string;
  preserve_ordering?: boolean;
  priority_levels?: number | string;
  default_priority_level?: number | string;
  default_queue_policy?: ModelQueuePolicy;
  priority_queue_policy?: Record<string, ModelQueuePolicy>;
}

export interface ModelSequenceBatching {
  direct?: ModelSequenceBatching_StrategyDirect;
  oldest?: ModelSequenceBatching_StrategyOldest;
  max_sequence_idle_microseconds?: number | string;
  control_input?: ModelSequenceBatching_ControlInput[];
  state?: ModelSequenceBatching_State[];
  iterative_sequence?: boolean;
}

export interface ModelSequenceBatching_Control {
  kind?: ModelSequenceBatching_Control_Kind;
  int32_false_true?: number[];
  fp32_false_true?: number[];
  bool_false_true?: boolean[];
  data_type?: DataType;
}

export type ModelSequenceBatching_Control_Kind = 'CONTROL_SEQUENCE_START' | 'CONTROL_SEQUENCE_READY' | 'CONTROL_SEQUENCE_END' | 'CONTROL_SEQUENCE_CORRID';

export interface ModelSequenceBatching_ControlInput {
  name?: string;
  control?: ModelSequenceBatching_Control[];
}

export interface ModelSequenceBatching_InitialState {
  data_type?: DataType;
  dims?: Array<number | string>;
  zero_data?: boolean;
  data_file?: string;
  name?: string;
}

export interface ModelSequenceBatching_State {
  input_name?: string;
  output_name?: string;
  data_type?: DataType;
  dims?: Array<number | string>;
  initial_state?: ModelSequenceBatching_InitialState[];
  use_same_buffer_for_input_output?: boolean;
  use_growable_memory?: boolean;
}

export interface ModelSequenceBatching_StrategyDirect {
  max_queue_delay_microseconds?: number | string;
  minimum_slot_utilization?: number;
}

export interface ModelSequenceBatching_StrategyOldest {
  max_candidate_sequences?: number;
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number | string;
  preserve_ordering?: boolean;
}

export interface ModelEnsembling {
  step?: ModelEnsembling_Step[];
  max_inflight_requests?: number;
}

export interface ModelEnsembling_Step {
  model_name?: string;
  model_version?: number | string;
  input_map?: Record<string, string>;
  output_map?: Record<string, string>;
  model_namespace?: string;
}

export interface ModelParameter {
  string_value?: string;
}

export interface ModelWarmup {
  name?: string;
  batch_size?: number;
  inputs?: Record<string, ModelWarmup_Input>;
  count?: number;
}

export interface ModelWarmup_Input {
  data_type?: DataType;
  dims?: Array<number | string>;
  zero_data?: boolean;
  random_data?: boolean;
  input_data_file?: string;
}

export interface ModelOperations {
  op_library_filename?: string[];
}

export interface ModelTransactionPolicy {
  decoupled?: boolean;
}

export interface ModelRepositoryAgents {
  agents?: ModelRepositoryAgents_Agent[];
}

export interface ModelRepositoryAgents_Agent {
  name?: string;
  parameters?: Record<string, string>;
}

export interface ModelResponseCache {
  enable?: boolean;
}

export interface ModelMetrics {
  metric_control?: ModelMetrics_MetricControl[];
}

export interface ModelMetrics_MetricControl {
  metric_identifier?: ModelMetrics_MetricControl_MetricIdentifier;
  histogram_options?: ModelMetrics_MetricControl_HistogramOptions;
}

export interface ModelMetrics_MetricControl_MetricIdentifier {
  family?: string;
}

export interface ModelMetrics_MetricControl_HistogramOptions {
  buckets?: number[];
}

export interface ModelConfig {
  name?: string;
  platform?: string;
  backend?: string;
  runtime?: string;
  version_policy?: ModelVersionPolicy;
  max_batch_size?: number;
  input?: ModelInput[];
  output?: ModelOutput[];
  batch_input?: BatchInput[];
  batch_output?: BatchOutput[];
  optimization?: ModelOptimizationPolicy;
  dynamic_batching?: ModelDynamicBatching;
  sequence_batching?: ModelSequenceBatching;
  ensemble_scheduling?: ModelEnsembling;
  instance_group?: ModelInstanceGroup[];
  default_model_filename?: string;
  cc_model_filenames?: Record<string, string>;
  metric_tags?: Record<string, string>;
  parameters?: Record<string, ModelParameter>;
  model_warmup?: ModelWarmup[];
  model_operations?: ModelOperations;
  model_transaction_policy?: ModelTransactionPolicy;
  model_repository_agents?: ModelRepositoryAgents;
  response_cache?: ModelResponseCache;
  model_metrics?: ModelMetrics;
}
