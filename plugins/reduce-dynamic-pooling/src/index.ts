/**
 * @weft/reduce-dynamic-pooling: Efficient Transformers with Dynamic Token Pooling (2023) arXiv:2211.09761.
 *
 * Provides the reducer kind "dynamic-pooling"; the technique lives in ./dynamic-pooling.ts.
 */
import { reducer, definePlugin } from '@weft/core';
import {
  dynamicPoolingCapabilities,
  DynamicPoolingReducer,
  DynamicPoolingOptions,
} from './dynamic-pooling.js';
import { VERSION } from './version.js';

export { dynamicPoolingCapabilities, DynamicPoolingReducer, DynamicPoolingOptions } from './dynamic-pooling.js';

export default definePlugin({
  name: '@weft/reduce-dynamic-pooling',
  version: VERSION,
  paper: { title: 'Efficient Transformers with Dynamic Token Pooling', arxiv: '2211.09761', year: 2023 },
  provides: [
    reducer('dynamic-pooling', {
      description: 'Dynamic token pooling (2023): a learned boundary predictor, mean pooling per variable-length segment, causal upsampling to completed segments.',
      options: DynamicPoolingOptions,
      capabilities: dynamicPoolingCapabilities,
      create: (options, ctx) => new DynamicPoolingReducer(options, ctx.dims, ctx.rng),
    }),
  ],
});
