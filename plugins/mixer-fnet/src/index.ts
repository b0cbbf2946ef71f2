/**
 * @weft/mixer-fnet — FNet (Lee-Thorp et al., "FNet: Mixing Tokens with Fourier Transforms",
 * arXiv 2105.03824): a parameter-free token mixer, y = Re(FFT_seq(FFT_hidden(x))), for encoders.
 */
import { definePlugin, IncompatibleError, mixer, z } from '@weft/core';
import { fnetCapabilities, FNetMixer } from './fnet.js';
import { VERSION } from './version.js';

export { fnetCapabilities, FNetMixer, fourierMix, dftMatrices } from './fnet.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'FNet: Mixing Tokens with Fourier Transforms', arxiv: '2105.03824', year: 2021, url: 'https://arxiv.org/abs/2105.03824' };

export default definePlugin({
  name: '@weft/mixer-fnet',
  version: VERSION,
  paper: PAPER,
  description: 'FNet: parameter-free Fourier token mixing, y = Re(FFT_seq(FFT_hidden(x))); bidirectional encoders only.',
  provides: [
    mixer('fnet', {
      description: 'FNet: y = Re(F_L X F_d), the real part of the 2-D DFT over (sequence, hidden); no parameters.',
      options: z.object({}),
      capabilities: fnetCapabilities,
      check: (_opts, env) => {
        if (env.causal) {
          throw new IncompatibleError(
            `${env.path}: mixer "fnet" is not causal (its Fourier transform mixes every token with every other, including future ones), but this model is a causal LM. Use it in an encoder (task: "classifier"), or choose a causal mixer such as "attention".`,
          );
        }
      },
      create: () => new FNetMixer(),
    }),
  ],
});
