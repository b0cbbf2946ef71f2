import {
  attentionForwardBackwardFlops,
  attentionForwardFlops,
  gflopsPerSecond,
} from '../src/flops.js';

describe('attention FLOP counts', () => {
  it('forward is 4·B·H·L²·Dh, halved when causal', () => {
    expect(attentionForwardFlops(1, 8, 1024, 64, false)).toBe(4 * 8 * 1024 * 1024 * 64);
    expect(attentionForwardFlops(1, 8, 1024, 64)).toBe(2 * 8 * 1024 * 1024 * 64);
    expect(attentionForwardFlops(2, 1, 10, 4)).toBe(2 * attentionForwardFlops(1, 1, 10, 4));
  });

  it('forward + backward is 3.5× forward', () => {
    expect(attentionForwardBackwardFlops(1, 8, 512, 64)).toBe(
      3.5 * attentionForwardFlops(1, 8, 512, 64),
    );
  });

  it('converts FLOPs and milliseconds to GFLOP/s', () => {
    expect(gflopsPerSecond(2e9, 1000)).toBe(2);
    expect(gflopsPerSecond(1e9, 10)).toBe(100);
  });
});
