/**
 * Options of the 'longhorn' mixer: the reference `Longhorn` module's names and defaults (its
 * block is Mamba's, so the shared fields and their messages come from mixer-mamba's schema).
 * The reference constructor also accepts dt_min / dt_max / dt_init / dt_scale / dt_init_floor
 * but never uses them (β has no Δ-style initialisation), so they are not options here.
 */
import { z } from '@weft/core';
import { mambaOptions } from '@weft/mixer-mamba';

export const longhornOptions = mambaOptions.pick({ d_state: true, d_conv: true, expand: true, dt_rank: true, conv_bias: true, bias: true });

export type LonghornOptions = z.output<typeof longhornOptions>;
