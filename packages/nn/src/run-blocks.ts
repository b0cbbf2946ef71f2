/** Running a stack of blocks, with token reducers shortening and restoring the sequence. */
import type { ForwardContext, Reduction, Tensor, TokenReducer } from '@weft/core';
import type { ModuleList } from '@weft/core';
import type { TransformerBlock } from './block.js';

/** A reducer shortens the sequence before layer `at` and restores it after `span` layers. */
export interface ReducerSpan {
  at: number;
  span: number;
  reducer: TokenReducer;
}

export function runBlocks(blocks: ModuleList<TransformerBlock>, spans: readonly ReducerSpan[], x: Tensor, ctx: ForwardContext): Tensor {
  let h = x;
  let current = ctx;
  const open: Array<{ until: number; reduction: Reduction; outer: ForwardContext }> = [];
  for (let i = 0; i < blocks.length; i++) {
    const span = spans.find((r) => r.at === i);
    if (span) {
      const reduction = span.reducer.reduce(h, { ...current, layerIndex: i });
      open.push({ until: i + span.span, reduction, outer: current });
      h = reduction.x;
      current = reduction.ctx;
    }
    h = blocks.at(i).forward(h, { ...current, layerIndex: i });
    while (open.length && open[open.length - 1].until === i + 1) {
      const { reduction, outer } = open.pop()!;
      h = reduction.restore(h);
      current = outer;
    }
  }
  return h;
}
