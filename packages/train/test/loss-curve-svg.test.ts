import { lossCurveSvg } from '../src/index.js';

/** Check tags nest and close properly (a small XML well-formedness check for our output). */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attrs, selfClosing] = m;
    expect(attrs).not.toMatch(/[<&](?!amp;|lt;|gt;|quot;|apos;)/);
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  const text = svg.replace(/<[^>]*>/g, '');
  expect(text).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;|apos;)/);
}

function pathPoints(svg: string, series: string): Array<[number, number]> {
  const d = new RegExp(`class="series-${series}" d="([^"]+)"`).exec(svg)?.[1] ?? '';
  return [...d.matchAll(/[ML]([\d.-]+),([\d.-]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('lossCurveSvg', () => {
  const points = Array.from({ length: 50 }, (_, i) => ({
    step: (i + 1) * 10,
    loss: 3 * Math.exp(-i / 15) + 0.2,
    ...(i % 10 === 9 ? { evalLoss: 3 * Math.exp(-i / 15) + 0.35 } : {}),
  }));

  it('is a well-formed standalone SVG with title, axes labels, ticks and legend', () => {
    const svg = lossCurveSvg(points, { title: 'Run <a> & "b"' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expectWellFormed(svg);
    expect(svg).toContain('<title>Run &lt;a&gt; &amp; &quot;b&quot;</title>');
    expect(svg).toMatch(/>step</);
    expect(svg).toMatch(/>loss</);
    expect(svg).toMatch(/>train</);
    expect(svg).toMatch(/>eval</);
    // Round tick labels on both axes.
    expect(svg).toMatch(/>100</);
    expect(svg).toMatch(/>1\.0</);
  });

  it('draws one vertex per point, with lower losses higher up and later steps further right', () => {
    const svg = lossCurveSvg(points);
    const train = pathPoints(svg, 'train');
    const evals = pathPoints(svg, 'eval');
    expect(train).toHaveLength(50);
    expect(evals).toHaveLength(5);
    for (let i = 1; i < train.length; i++) {
      expect(train[i][0]).toBeGreaterThan(train[i - 1][0]);
      expect(train[i][1]).toBeGreaterThan(train[i - 1][1]); // loss falls, so y (downwards) grows
    }
    expect(svg.match(/<circle /g)).toHaveLength(5);
  });

  it('skips non-finite losses and still renders a flat or empty series', () => {
    const svg = lossCurveSvg([
      { step: 1, loss: 2 },
      { step: 2, loss: NaN },
      { step: 3, loss: 2 },
    ]);
    expectWellFormed(svg);
    expect(pathPoints(svg, 'train')).toHaveLength(2);
    expect(svg).not.toContain('series-eval');
    const empty = lossCurveSvg([]);
    expectWellFormed(empty);
    expect(empty).toContain('no data');
  });
});
