/**
 * @weft/reduce-random-ltd: Random-LTD (2022) arXiv:2211.11586.
 *
 * Provides the reducer kind "random-ltd" (./random-ltd.ts) and the trainer kind
 * "random-ltd-schedule" (./schedule.ts), which share a per-model controller (./controller.ts).
 */
import { definePlugin, reducer, trainer } from '@weft/core';
import { controllerIn } from './controller.js';
import { randomLtdCapabilities, RandomLtdOptions, RandomLtdReducer } from './random-ltd.js';
import { RandomLtdSchedule, RandomLtdScheduleOptions } from './schedule.js';
import { VERSION } from './version.js';

export { randomLtdCapabilities, RandomLtdOptions, RandomLtdReducer, keptLength, sampleKeptIndices, type RandomLtdReduction } from './random-ltd.js';
export { RandomLtdSchedule, RandomLtdScheduleOptions, randomLtdKeptLength } from './schedule.js';
export { RandomLtdController, RANDOM_LTD_CONTROLLER, controllerIn, randomLtdController } from './controller.js';

export default definePlugin({
  name: '@weft/reduce-random-ltd',
  version: VERSION,
  paper: { title: 'Random-LTD: Random and Layerwise Token Dropping Brings Efficient Training for Large-Scale Transformers', arxiv: '2211.11586', year: 2022 },
  provides: [
    reducer('random-ltd', {
      description: 'Random-LTD: while training, the spanned layers see a random sorted subset of the tokens; the rest bypass them unchanged. Keeps all tokens at evaluation.',
      options: RandomLtdOptions,
      capabilities: randomLtdCapabilities,
      create: (options, ctx) => new RandomLtdReducer(options, controllerIn(ctx.modelContainer), ctx.path),
    }),
    trainer('random-ltd-schedule', {
      description: "Random-LTD's kept-length schedule (fixed_linear): grows the random-ltd reducers' kept length from minValue to maxValue over requireSteps.",
      options: RandomLtdScheduleOptions,
      create: (options, ctx) => new RandomLtdSchedule(options, controllerIn(ctx.modelContainer), ctx.path),
    }),
  ],
});
