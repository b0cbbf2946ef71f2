/**
 * @weft/nn — the standard blocks and the model builder.
 *
 *   const registry = createRegistry().use(standard);
 *   const model = buildModel(registry, { vocab: 259, dModel: 128, layers: 4, heads: 4 });
 */
export { standard } from './standard/plugin.js';
export { buildModel, type WeftModel } from './build-model.js';
export { resolveModelConfig, type ResolvedModelConfig, type ResolvedLayer } from './builder.js';
export { parseModelConfig, ModelConfigSchema, type ModelConfig, type ModelConfigInput } from './config.js';
export { CausalLM, defaultPositions, type ForwardOptions } from './models/causal-lm.js';
export { EncoderClassifier } from './models/encoder-classifier.js';
export { EncoderDecoder, CrossAttention } from './models/encoder-decoder.js';
export { TransformerBlock } from './block.js';
export { runReversible, stepReversible } from './reversible.js';
export { ModelCache } from './cache.js';
export { generate, sampleToken, type GenerateOptions } from './generate.js';
export { maskedCrossEntropy } from './loss.js';
export { AuxLossCollector } from './aux-losses.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { splitHeads, mergeHeads, repeatKvHeads } from './layers/heads-split.js';
export { blockSparseAttention, blockSparseAttentionWithLse, emptyPlan, type BlockPlan, type HeadGroup } from './layers/block-sparse.js';
export { DenseAttention, attentionMask, scaleLogits } from './standard/dense-attention.js';
export { AttentionMixer } from './standard/attention-mixer.js';
export { MultiHeadLayout } from './standard/mha.js';
export { FullKVCache, fullKVCacheFactory } from './standard/full-kv-cache.js';
export { MLP, SwiGLU, activate, type Activation } from './standard/feedforward.js';
export { LayerNorm, RMSNorm } from './standard/norms.js';
export { SinusoidalEncoding, LearnedPositionalEmbedding, NoPositionalEncoding } from './standard/positional.js';
export { LearnedEmbedding } from './standard/embedding.js';
export { POSITIONAL, RECORD_ATTENTION, type AttentionRecorder, type LayerPositional } from './tokens.js';
export { crossesSegment, segmentStarts } from './sequence/segment-resets.js';
export { causalConv1d, segmentCausalConv1d } from './sequence/causal-conv1d.js';
export { linearScan, linearRecurrence, type LinearScanOptions, type LinearScanResult } from './sequence/linear-scan.js';
export { chunkedSelectiveScan, SELECTIVE_SCAN_CHUNK, type ChunkedSelectiveScanInputs, type ChunkedSelectiveScanResult, type SelectiveDecay } from './sequence/chunked-selective-scan.js';
export { logScan, logScanStep, logcumsumexp, logAddExp, LOG_ZERO, type LogScanOptions } from './sequence/log-scan.js';
export { causalLongConv, causalToeplitz } from './sequence/causal-long-conv.js';
export { fftCausalConv, longConv, dft, idftReal, fourStepForward, fourStepInverseReal, fourStepSplit, LONG_CONV_FFT_THRESHOLD, type ComplexPair, type LongConvMethod, type LongConvOptions } from './sequence/fft-conv.js';
export { VERSION } from './version.js';
