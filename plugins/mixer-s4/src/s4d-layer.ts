/**
 * The S4D state-space layer on H independent channels (S4, arXiv 2111.00396, §2–3, in its
 * diagonal form S4D, arXiv 2206.11893): a convolution mode for training and a recurrent mode
 * for decoding that compute the same map.
 *
 * Notation: B batch, L length, H channels, N = d_state, N2 = N/2 complex modes.
 *   conv mode:      y = K ∗ u + D ⊙ u                     (S4 Eq. 4–5; K from ./s4d-kernel.ts; Toeplitz
 *                                                          or matmul-FFT convolution, @weft/nn longConv)
 *   recurrent mode: x_k = Ā x_{k−1} + u_k                 (S4 Eq. 3; x complex [B, H, N2])
 *                   y_k = 2 Re(Σ_n C̃_n x_k,n) + D u_k
 * Init (S4D-Lin, reference `s4d.py`): log_A_real = log 0.5, A_imag = π n, C ~ CN(0, 1),
 * log_dt ~ U[log dt_min, log dt_max], D ~ N(0, 1).
 */
import { init, Module, tf, type LayerState, type Rng, type Tensor } from '@weft/core';
import { longConv, type LongConvMethod } from '@weft/nn';
import { s4dDiscretize, s4dKernel, type S4DParams } from './s4d-kernel.js';

/** Complex diagonal SSM state as real/imag pairs, each [B, H, N2]. */
export class S4DState implements LayerState {
  constructor(
    readonly re: Tensor,
    readonly im: Tensor,
  ) {}
  bytes(): number {
    return (this.re.size + this.im.size) * 4;
  }
  dispose(): void {
    tf.dispose([this.re, this.im]);
  }
}

export class S4DLayer extends Module {
  readonly log_dt: tf.Variable; // [H]
  readonly C: tf.Variable; // [H, N2, 2]
  readonly log_A_real: tf.Variable; // [H, N2]
  readonly A_imag: tf.Variable; // [H, N2]
  readonly D: tf.Variable; // [H]
  readonly modes: number;

  /** `conv` picks how K ∗ u is computed (@weft/nn longConv): 'auto' (default), 'fft' or 'toeplitz'. */
  constructor(readonly channels: number, dState: number, dtMin: number, dtMax: number, rng: Rng, readonly conv: LongConvMethod = 'auto') {
    super();
    const H = channels;
    const N2 = (this.modes = dState / 2);
    this.log_dt = this.addParameter('log_dt', [H], init.uniform(Math.log(dtMin), Math.log(dtMax)), rng.fork('log_dt'));
    this.C = this.addParameter('C', [H, N2, 2], init.normal(Math.SQRT1_2), rng.fork('C')); // complex randn: each part N(0, 1/2)
    this.log_A_real = this.addParameter('log_A_real', [H, N2], init.values(new Float32Array(H * N2).fill(Math.log(0.5))), rng.fork('log_A_real'));
    const aImag = new Float32Array(H * N2);
    for (let h = 0; h < H; h++) for (let n = 0; n < N2; n++) aImag[h * N2 + n] = Math.PI * n;
    this.A_imag = this.addParameter('A_imag', [H, N2], init.values(aImag), rng.fork('A_imag'));
    this.D = this.addParameter('D', [H], init.normal(1), rng.fork('D'));
  }

  ssmParams(): S4DParams {
    return { log_dt: this.log_dt, log_A_real: this.log_A_real, A_imag: this.A_imag, C: this.C };
  }

  /** K [H, L]. */
  kernel(L: number): Tensor {
    return s4dKernel(this.ssmParams(), L);
  }

  /** Convolution mode: u [B, L, H] -> K ∗ u + D ⊙ u  [B, L, H]. */
  forward(u: Tensor): Tensor {
    return tf.tidy(() => tf.add(longConv(u, this.kernel(u.shape[1]!), { method: this.conv }), tf.mul(u, this.D)));
  }

  initState(batch: number): S4DState {
    return new S4DState(tf.keep(tf.zeros([batch, this.channels, this.modes])), tf.keep(tf.zeros([batch, this.channels, this.modes])));
  }

  /**
   * Recurrent mode over T ≥ 1 tokens: u [B, T, H] with state x -> (y [B, T, H], next state).
   * Does not dispose the incoming state.
   */
  step(u: Tensor, state: S4DState): [Tensor, S4DState] {
    const [B, T, H] = u.shape as [number, number, number];
    const [y, re, im] = tf.tidy(() => {
      const { dA_re, dA_im, C_re, C_im } = s4dDiscretize(this.ssmParams()); // [H, N2]
      let xr = state.re; // [B, H, N2]
      let xi = state.im;
      const ys: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const ut = tf.reshape(tf.slice(u, [0, t, 0], [B, 1, H]), [B, H]); // [B, H]
        const u3 = tf.reshape(ut, [B, H, 1]); // [B, H, 1]
        const nr = tf.add(tf.sub(tf.mul(dA_re, xr), tf.mul(dA_im, xi)), u3); // Re(Ā x) + u
        const ni = tf.add(tf.mul(dA_re, xi), tf.mul(dA_im, xr)); // Im(Ā x)
        xr = nr;
        xi = ni;
        const yt = tf.mul(tf.sum(tf.sub(tf.mul(C_re, xr), tf.mul(C_im, xi)), 2), 2); // 2 Re(Σ C̃ x)  [B, H]
        ys.push(tf.add(yt, tf.mul(ut, this.D)));
      }
      return [tf.stack(ys, 1), xr, xi] as [Tensor, Tensor, Tensor]; // [B, T, H]
    });
    return [y, new S4DState(tf.keep(re), tf.keep(im))];
  }
}
