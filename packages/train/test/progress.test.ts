import { createProgress, formatCount, formatDuration } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const stream = {
    write: (s: string) => lines.push(s) > 0,
    isTTY: false,
  } as unknown as NodeJS.WritableStream;
  return { lines, stream };
}

describe('createProgress (plain lines)', () => {
  it('prints at most one line per interval, the last step always, with rate-based ETA', () => {
    const { lines, stream } = capture();
    let now = 0;
    const handle = createProgress({ stream, intervalMs: 5000, now: () => now }).start('step', 500);
    for (let step = 1; step <= 500; step++) {
      now = step * 100; // 10 steps per second
      handle.update(step, { loss: (3 - step / 250).toFixed(3), 'tok/s': 1234.4 });
    }
    handle.stop();
    // First update, then every 50 steps (5 s), then the last.
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('step 1/500 loss 2.996 1,234 tok/s\n');
    expect(lines[1]).toBe('step 51/500 loss 2.796 1,234 tok/s ETA 45s\n');
    expect(lines[10]).toBe('step 500/500 loss 1.000 1,234 tok/s ETA 0s\n');
  });

  it('measures the ETA from the first update, so a resumed run ignores earlier steps', () => {
    const { lines, stream } = capture();
    let now = 0;
    const handle = createProgress({ stream, intervalMs: 0, now: () => now }).start('step', 1000);
    handle.update(400);
    now = 60_000;
    handle.update(460); // 1 step/s: 540 left
    expect(lines[1]).toBe('step 460/1000 ETA 9m00s\n');
  });
});

describe('formatting', () => {
  it('formats durations and counts', () => {
    expect(formatDuration(9.4)).toBe('9s');
    expect(formatDuration(72)).toBe('1m12s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatCount(1234567.8)).toBe('1,234,568');
  });
});
