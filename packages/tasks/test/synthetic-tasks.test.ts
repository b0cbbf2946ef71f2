import { Rng, tf, useBackend } from '@weft/core';
import {
  AdditionTask,
  ByteTokenizer,
  CopyTask,
  InductionHeadsTask,
  ListOpsTokenizer,
  createTask,
  type SyntheticTask,
  type TaskSample,
} from '@weft/tasks';

/** Small settings for every registered task. */
const SMALL: Record<string, object> = {
  copy: { length: 5, symbols: 4 },
  'selective-copy': { regionLength: 12, count: 3, symbols: 4 },
  'associative-recall': { pairs: 4, queries: 3, keys: 8, values: 8 },
  'induction-heads': { seqLen: 12, symbols: 5 },
  listops: { seqLen: 40, maxDepth: 3, maxArgs: 4 },
  passkey: { seqLen: 200, digits: 4 },
  addition: { digits: 3 },
  sorting: { length: 6, values: 10 },
};
const BATCH = 6;

/** Row `row` as the whole sequence: its inputs followed by its last target (seqLen + 1 tokens). */
function sequenceOf(sample: TaskSample, row: number): number[] {
  const L = sample.seqLen;
  return [...sample.inputs.subarray(row * L, (row + 1) * L), sample.targets[(row + 1) * L - 1]];
}

/** Indices t of row `row` where lossMask is 1 (the target positions scored). */
function maskedPositions(sample: TaskSample, row: number): number[] {
  const L = sample.seqLen;
  const out: number[] = [];
  for (let t = 0; t < L; t++) if (sample.lossMask[row * L + t] === 1) out.push(t);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A stand-in rng that hands out the given integers in order, to write rows by hand. */
function scriptedRng(values: number[]): Rng {
  let next = 0;
  return { int: () => values[next++] } as unknown as Rng;
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe.each(Object.keys(SMALL))('%s (common properties)', (name) => {
  const task: SyntheticTask = createTask(name, SMALL[name]);

  it('is deterministic per seed and differs across seeds', () => {
    const a = task.sample(new Rng(11), BATCH);
    expect(task.sample(new Rng(11), BATCH)).toEqual(a);
    expect(Array.from(task.sample(new Rng(12), BATCH).inputs)).not.toEqual(Array.from(a.inputs));
  });

  it('has [B, L] arrays, ids inside the vocabulary, targets = inputs shifted by one', () => {
    const sample = task.sample(new Rng(3), BATCH);
    const n = BATCH * task.seqLen;
    expect([sample.inputs.length, sample.targets.length, sample.lossMask.length]).toEqual([n, n, n]);
    expect([sample.batchSize, sample.seqLen]).toEqual([BATCH, task.seqLen]);
    for (const id of [...sample.inputs, ...sample.targets]) {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(task.vocabSize);
    }
    for (let row = 0; row < BATCH; row++) {
      for (let t = 0; t + 1 < task.seqLen; t++) {
        expect(sample.targets[row * task.seqLen + t]).toBe(sample.inputs[row * task.seqLen + t + 1]);
      }
      expect(maskedPositions(sample, row).length).toBeGreaterThan(0);
    }
    for (const m of sample.lossMask) expect(m === 0 || m === 1).toBe(true);
  });

  it('makes tensors of the right shape and dtype without leaking', async () => {
    const before = tf.memory().numTensors;
    const batch = task.batch(new Rng(3), BATCH);
    expect(batch.inputs.shape).toEqual([BATCH, task.seqLen]);
    expect(batch.targets.dtype).toBe('int32');
    expect(batch.lossMask!.dtype).toBe('float32');
    expect(Array.from(await batch.lossMask!.data())).toEqual(Array.from(task.sample(new Rng(3), BATCH).lossMask));
    tf.dispose([batch.inputs, batch.targets, batch.lossMask!]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('scores only the answer positions', () => {
    const sample = task.sample(new Rng(4), BATCH);
    const perfect = Array.from(sample.targets);
    const total = sample.lossMask.reduce((s, m) => s + m, 0);
    expect(task.score(perfect, sample)).toEqual({ accuracy: 1, correct: total, total, exactMatch: 1 });

    const wrongOutsideAnswers = perfect.map((id, t) => (sample.lossMask[t] === 1 ? id : (id + 1) % task.vocabSize));
    expect(task.score(wrongOutsideAnswers, sample).accuracy).toBe(1);

    const firstAnswer = sample.lossMask.indexOf(1);
    const oneWrong = [...perfect];
    oneWrong[firstAnswer] = (oneWrong[firstAnswer] + 1) % task.vocabSize;
    expect(task.score(oneWrong, sample)).toEqual({
      accuracy: (total - 1) / total,
      correct: total - 1,
      total,
      exactMatch: (BATCH - 1) / BATCH,
    });
  });
});

describe('copy', () => {
  it('writes data, separator, data again; the answer is the copy', () => {
    // symbols 0..3 are ids 2..5, separator 1
    const task = new CopyTask({ length: 3, symbols: 4 });
    const sample = task.sample(scriptedRng([2, 0, 3]), 1);
    expect(sequenceOf(sample, 0)).toEqual([4, 2, 5, 1, 4, 2, 5]);
    expect(Array.from(sample.lossMask)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('scores a hand-made batch', () => {
    const task = new CopyTask({ length: 3, symbols: 4 });
    const sample: TaskSample = {
      batchSize: 2,
      seqLen: 6,
      inputs: Int32Array.from([2, 3, 4, 1, 2, 3, /**/ 5, 5, 2, 1, 5, 5]),
      targets: Int32Array.from([3, 4, 1, 2, 3, 4, /**/ 5, 2, 1, 5, 5, 2]),
      lossMask: Float32Array.from([0, 0, 0, 1, 1, 1, /**/ 0, 0, 0, 1, 1, 1]),
    };
    // row 0: all three answers right (wrong guesses before them do not count); row 1: 2 of 3
    const predicted = [9, 9, 9, 2, 3, 4, /**/ 0, 0, 0, 5, 4, 2];
    expect(task.score(predicted, sample)).toEqual({ accuracy: 5 / 6, correct: 5, total: 6, exactMatch: 0.5 });
    expect(() => task.score([1, 2, 3], sample)).toThrow(/predictedIds has 3 values but the sample is \[2, 6\] = 12/);
  });
});

describe('sorting', () => {
  it('answers the sorted input', () => {
    const task = createTask('sorting', { length: 6, values: 10 });
    const sample = task.sample(new Rng(8), 4);
    for (let row = 0; row < 4; row++) {
      const seq = sequenceOf(sample, row);
      expect(seq[6]).toBe(1);
      const input = seq.slice(0, 6);
      const sorted: number[] = [];
      for (const v of input) {
        let i = 0;
        while (i < sorted.length && sorted[i] <= v) i++;
        sorted.splice(i, 0, v);
      }
      expect(seq.slice(7)).toEqual(sorted);
      expect(maskedPositions(sample, row)).toEqual(range(6, 12));
    }
  });
});

describe('selective-copy', () => {
  it('answers the non-noise tokens of the region, in order', () => {
    // ids: 1 noise, 2 separator, 3.. data
    const task = createTask('selective-copy', { regionLength: 12, count: 3, symbols: 4 });
    const sample = task.sample(new Rng(5), 4);
    const spacings = new Set<string>();
    for (let row = 0; row < 4; row++) {
      const seq = sequenceOf(sample, row);
      const region = seq.slice(0, 12);
      const data = region.filter((id) => id !== 1);
      expect(data.length).toBe(3);
      for (const id of data) expect(id).toBeGreaterThanOrEqual(3);
      expect(seq[12]).toBe(2);
      expect(seq.slice(13)).toEqual(data);
      expect(maskedPositions(sample, row)).toEqual([12, 13, 14]);
      spacings.add(region.map((id) => (id === 1 ? '.' : 'x')).join(''));
    }
    expect(spacings.size).toBeGreaterThan(1); // the data positions vary between rows
  });
});

describe('associative-recall', () => {
  it('answers the value each queried key was paired with', () => {
    // ids: keys 1..8, values 9..16; 4 pairs then 3 queries
    const task = createTask('associative-recall', { pairs: 4, queries: 3, keys: 8, values: 8 });
    const sample = task.sample(new Rng(9), 5);
    for (let row = 0; row < 5; row++) {
      const seq = sequenceOf(sample, row);
      expect(seq.length).toBe(14);
      const valueOf = new Map<number, number>();
      for (let i = 0; i < 8; i += 2) {
        expect(seq[i]).toBeGreaterThanOrEqual(1);
        expect(seq[i]).toBeLessThanOrEqual(8);
        expect(seq[i + 1]).toBeGreaterThanOrEqual(9);
        expect(valueOf.has(seq[i])).toBe(false); // keys are distinct
        valueOf.set(seq[i], seq[i + 1]);
      }
      const queried = [seq[8], seq[10], seq[12]];
      expect(new Set(queried).size).toBe(3);
      expect([seq[9], seq[11], seq[13]]).toEqual(queried.map((k) => valueOf.get(k)));
      // the value of query j is sequence index 9 + 2j, i.e. target position 8 + 2j
      expect(maskedPositions(sample, row)).toEqual([8, 10, 12]);
    }
  });
});

describe('induction-heads', () => {
  it('writes a row by hand from the rng draws', () => {
    // seqLen 6: body of 5 symbols (ids 2..), trigger (1) at draw position 1, final trigger, answer
    const task = new InductionHeadsTask({ seqLen: 6, symbols: 5 });
    const sample = task.sample(scriptedRng([0, 1, 2, 3, 4, /* trigger at */ 1]), 1);
    expect(sequenceOf(sample, 0)).toEqual([2, 1, 4, 5, 6, 1, 4]);
    expect(Array.from(sample.lossMask)).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('answers the token that followed the trigger', () => {
    const task = createTask('induction-heads', { seqLen: 12, symbols: 5 });
    const sample = task.sample(new Rng(2), 6);
    for (let row = 0; row < 6; row++) {
      const seq = sequenceOf(sample, row);
      const triggers = range(0, 12).filter((i) => seq[i] === 1);
      expect(triggers.length).toBe(2);
      expect(triggers[1]).toBe(11);
      expect(triggers[0] + 1).toBeLessThan(11);
      expect(seq[12]).toBe(seq[triggers[0] + 1]);
      expect(maskedPositions(sample, row)).toEqual([11]);
    }
  });
});

describe('listops', () => {
  /** The test's own evaluator over token strings. */
  function evaluate(tokens: string[]): number {
    let i = 0;
    const read = (): number => {
      const token = tokens[i++];
      if (/^\d$/.test(token)) return Number(token);
      const args: number[] = [];
      while (tokens[i] !== ']') args.push(read());
      i++;
      const sorted = [...args].sort((a, b) => a - b);
      if (token === '[MAX') return sorted[sorted.length - 1];
      if (token === '[MIN') return sorted[0];
      if (token === '[SM') return args.reduce((a, b) => a + b) % 10;
      const m = sorted.length;
      return m % 2 ? sorted[(m - 1) / 2] : Math.floor((sorted[m / 2 - 1] + sorted[m / 2]) / 2);
    };
    return read();
  }

  it('ends each expression with = and its value, then padding', () => {
    const task = createTask('listops', { seqLen: 40, maxDepth: 3, maxArgs: 4 });
    const tokenizer = new ListOpsTokenizer();
    const sample = task.sample(new Rng(6), 8);
    for (let row = 0; row < 8; row++) {
      const seq = sequenceOf(sample, row);
      const words = seq.map((id) => tokenizer.vocabulary[id]);
      const equals = words.indexOf('=');
      expect(words[0]).toMatch(/^\[(MAX|MIN|MED|SM)$/);
      expect(Number(words[equals + 1])).toBe(evaluate(words.slice(0, equals)));
      expect(words.slice(equals + 2).every((w) => w === '<pad>')).toBe(true);
      expect(maskedPositions(sample, row)).toEqual([equals]);
    }
  });
});

describe('passkey', () => {
  it('hides the passkey in filler and asks for it at the end', () => {
    const task = createTask('passkey', { seqLen: 200, digits: 4 });
    const bytes = new ByteTokenizer();
    const sample = task.sample(new Rng(1), 6);
    const places = new Set<number>();
    for (let row = 0; row < 6; row++) {
      const text = bytes.decode(sequenceOf(sample, row));
      expect(text.length).toBe(201);
      const hidden = /The passkey is (\d{4})\. /.exec(text);
      expect(hidden).not.toBeNull();
      places.add(hidden!.index);
      expect(text.endsWith(`The secret number is ${hidden![1]}`)).toBe(true);
      expect(maskedPositions(sample, row)).toEqual([196, 197, 198, 199]);
    }
    expect(places.size).toBeGreaterThan(1); // the depth varies
  });

  it('puts the passkey at the requested depth', () => {
    const bytes = new ByteTokenizer();
    const at = (depth: number) => {
      const task = createTask('passkey', { seqLen: 400, digits: 3, depth });
      return bytes.decode(sequenceOf(task.sample(new Rng(1), 1), 0)).indexOf('The passkey is');
    };
    expect(at(0)).toBeLessThan(at(0.5));
    expect(at(0.5)).toBeLessThan(at(1));
    expect(at(1)).toBeGreaterThan(300);
  });
});

describe('addition', () => {
  it('writes 57 + 68 = 125 reversed and zero-padded', () => {
    // ids: 1 '+', 2 '=', 3 + d for the digit d
    const task = new AdditionTask({ digits: 3 });
    const sample = task.sample(scriptedRng([57, 68]), 1);
    // 7 5 0 + 8 6 0 = 5 2 1 0
    expect(sequenceOf(sample, 0)).toEqual([10, 8, 3, 1, 11, 9, 3, 2, 8, 5, 4, 3]);
    expect(Array.from(sample.lossMask)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('answers the sum of random operands', () => {
    const task = createTask('addition', { digits: 4 });
    const sample = task.sample(new Rng(21), 8);
    const number = (ids: number[]) => ids.reduce((n, id, i) => n + (id - 3) * 10 ** i, 0);
    for (let row = 0; row < 8; row++) {
      const seq = sequenceOf(sample, row);
      expect([seq[4], seq[9]]).toEqual([1, 2]);
      expect(number(seq.slice(10))).toBe(number(seq.slice(0, 4)) + number(seq.slice(5, 9)));
      expect(maskedPositions(sample, row)).toEqual([9, 10, 11, 12, 13]);
    }
  });
});
