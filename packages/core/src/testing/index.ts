/**
 * @weft/core/testing — the test kit every Weft package uses (jest globals required).
 */
export { expectTensorsClose, compare, type Tolerance } from './close.js';
export { gradCheck, type GradCheckOptions, type GradCheckResult } from './grad-check.js';
export { describeWithBackends, testBackends, expectNoLeaks, leakedTensors } from './backends.js';
export { naiveAttention, naiveMatmul, type NaiveAttentionOptions } from './reference.js';
export {
  attentionKernelConformance,
  mixerConformance,
  positionalConformance,
  expectConfigRoundTrip,
  makeForwardContext,
  makeAttentionContext,
  type AttentionConformanceOptions,
  type MixerConformanceOptions,
  type PositionalConformanceOptions,
} from './conformance.js';
export { readmeSnippet, runReadmeSnippet } from './readme.js';
export { headLayoutConformance, feedForwardConformance, normConformance, kvCacheConformance, reducerConformance } from './conformance-more.js';
export { countingBatch, trainOnCounting, type CountingTrainingOptions, type TrainableOnBatches } from './tiny-training.js';
