/**
 * The pass-through norm: forward(x) = x. A blockwise-parallel layer carries its own LN1/LN2 and
 * needs the raw residual stream x (for h = x + attention), so its block's norm must not touch x.
 */
import { Module, type Norm, type Tensor } from '@weft/core';

export class IdentityNorm extends Module implements Norm {
  forward(x: Tensor): Tensor {
    return x;
  }
}
