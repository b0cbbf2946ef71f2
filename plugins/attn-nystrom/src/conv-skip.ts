/**
 * Nyströmformer's depthwise-convolution skip on V (the reference code's `conv_kernel_size`
 * option): out += conv(V), where conv is nn.Conv2d(H, H, (ks, 1), padding=(ks//2, 0),
 * groups=H, bias=False) over the sequence axis — one length-ks filter per head, shared by the
 * head's Dv features, zero padding.
 *
 * Notation: V [B, H, L, Dv]; w [H, ks] (PyTorch's weight [H, 1, ks, 1]); p = ⌊ks/2⌋
 *   conv(V)[b, h, i, d] = Σ_{t=0}^{ks−1} w[h, t] · V[b, h, i + t − p, d]   (V = 0 outside [0, L))
 * Computed as a sum of ks shifted slices (plain tfjs ops, differentiable on every backend).
 * Init: PyTorch's Conv2d default, U(±1/√fanIn) with fanIn = ks.
 */
import { init, Module, tf, type Rng, type Tensor } from '@weft/core';

export function depthwiseSequenceConv(v: Tensor, w: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, L, D] = v.shape as number[];
    const ks = (w.shape as number[])[1];
    const p = Math.floor(ks / 2);
    const padded = tf.pad(v, [[0, 0], [0, 0], [p, p], [0, 0]]); // [B, H, L + 2p, Dv]
    let out: Tensor = tf.zeros([B, H, L, D]);
    for (let t = 0; t < ks; t++) {
      const tap = tf.reshape(tf.slice(w, [0, t], [H, 1]), [1, H, 1, 1]); // [1, H, 1, 1]
      out = tf.add(out, tf.mul(tf.slice(padded, [0, 0, t, 0], [B, H, L, D]), tap)); // [B, H, L, Dv]
    }
    return out;
  });
}

export class DepthwiseConvSkip extends Module {
  readonly weight: tf.Variable;

  constructor(readonly heads: number, readonly kernelSize: number, rng: Rng) {
    super();
    this.weight = this.addParameter('weight', [heads, kernelSize], init.torchLinear(kernelSize), rng);
  }

  forward(v: Tensor): Tensor {
    return depthwiseSequenceConv(v, this.weight);
  }
}
