import { ConfigError, CheckpointError, tf, useBackend, type Batch } from '@weft/core';
import { LanguageModelingSource, TextDataset, evalBatches, splitTrainValidation, untagSentence } from '@weft/tasks';

/** tokens[i] = i, so every window's contents say where it starts. */
const ramp = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

async function readBatch(batch: Batch): Promise<{ inputs: number[][]; targets: number[][] }> {
  const inputs = (await batch.inputs.array()) as number[][];
  const targets = (await batch.targets.array()) as number[][];
  batch.inputs.dispose();
  batch.targets.dispose();
  return { inputs, targets };
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('splitTrainValidation', () => {
  it('keeps the last fraction, rounded down, as validation', () => {
    const { train, validation } = splitTrainValidation(ramp(10), 0.25);
    expect(Array.from(train)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(validation)).toEqual([8, 9]);
  });

  it('keeps at least one validation token', () => {
    const { train, validation } = splitTrainValidation(ramp(5), 0.01);
    expect(train.length).toBe(4);
    expect(Array.from(validation)).toEqual([4]);
  });

  it('refuses fractions outside (0, 1) and text too short to split', () => {
    expect(() => splitTrainValidation(ramp(10), 1)).toThrow(ConfigError);
    expect(() => splitTrainValidation(ramp(10), 0)).toThrow(/validationFraction.*strictly between 0 and 1; got 0/);
    expect(() => splitTrainValidation(ramp(1), 0.5)).toThrow(/1 token\(s\) cannot be split/);
  });
});

describe('TextDataset', () => {
  it('cuts contiguous windows of seqLen + 1 with targets shifted by one', () => {
    const dataset = new TextDataset(ramp(10), 3);
    // windows start at 0, 3, 6: [0 1 2 3], [3 4 5 6], [6 7 8 9]
    expect(dataset.windowCount).toBe(3);
    expect(Array.from(dataset.window(1).inputs)).toEqual([3, 4, 5]);
    expect(Array.from(dataset.window(1).targets)).toEqual([4, 5, 6]);
    expect(Array.from(dataset.window(2).targets)).toEqual([7, 8, 9]);
    expect(dataset.lastStart).toBe(6);
  });

  it('needs seqLen + 1 tokens', () => {
    expect(() => new TextDataset(ramp(4), 4)).toThrow(/seqLen.*needs seqLen \+ 1 = 5 tokens but the text has only 4/);
    expect(() => new TextDataset(ramp(4), 0)).toThrow(/seqLen: must be a positive integer; got 0/);
  });
});

describe('LanguageModelingSource', () => {
  const tokens = ramp(500);

  it('yields [B, L] int32 inputs and next-token targets from random starts', async () => {
    const source = new LanguageModelingSource(tokens, { batchSize: 4, seqLen: 8, seed: 1 });
    const batch = source.next();
    expect(batch.inputs.shape).toEqual([4, 8]);
    expect(batch.inputs.dtype).toBe('int32');
    expect(batch.targets.dtype).toBe('int32');
    const { inputs, targets } = await readBatch(batch);
    for (let row = 0; row < 4; row++) {
      const start = inputs[row][0];
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThanOrEqual(500 - 9);
      expect(inputs[row]).toEqual(Array.from({ length: 8 }, (_, t) => start + t));
      expect(targets[row]).toEqual(Array.from({ length: 8 }, (_, t) => start + t + 1));
    }
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const draw = async (seed: number) => {
      const source = new LanguageModelingSource(tokens, { batchSize: 4, seqLen: 8, seed });
      return [(await readBatch(source.next())).inputs, (await readBatch(source.next())).inputs];
    };
    expect(await draw(7)).toEqual(await draw(7));
    expect(await draw(7)).not.toEqual(await draw(8));
  });

  it('resumes exactly from state(), through JSON', async () => {
    const source = new LanguageModelingSource(tokens, { batchSize: 3, seqLen: 5, seed: 3 });
    await readBatch(source.next());
    const saved = JSON.parse(JSON.stringify(source.state()));
    const expected = [await readBatch(source.next()), await readBatch(source.next())];

    const resumed = new LanguageModelingSource(tokens, { batchSize: 3, seqLen: 5, seed: 99 });
    resumed.restore(saved);
    expect([await readBatch(resumed.next()), await readBatch(resumed.next())]).toEqual(expected);
  });

  it('walks the contiguous windows in order, wrapping around, when shuffle is false', async () => {
    // 13 tokens, seqLen 4: windows start at 0, 4, 8
    const source = new LanguageModelingSource(ramp(13), { batchSize: 2, seqLen: 4, shuffle: false });
    expect((await readBatch(source.next())).inputs.map((row) => row[0])).toEqual([0, 4]);
    const saved = source.state();
    expect((await readBatch(source.next())).inputs.map((row) => row[0])).toEqual([8, 0]);
    source.restore(saved);
    expect((await readBatch(source.next())).inputs.map((row) => row[0])).toEqual([8, 0]);
  });

  it('does not leak tensors beyond the batch it returns', () => {
    const source = new LanguageModelingSource(tokens, { batchSize: 2, seqLen: 4, seed: 0 });
    const before = tf.memory().numTensors;
    const batch = source.next();
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([batch.inputs, batch.targets]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options and foreign states with clear errors', () => {
    expect(() => new LanguageModelingSource(tokens, { batchSize: 0, seqLen: 8 })).toThrow(/LanguageModelingSource\.batchSize: .*; got 0 \(number\)/);
    expect(() => new LanguageModelingSource(tokens, { batchSize: 2, seqLen: 8, shufle: false } as never)).toThrow(/unknown option "shufle".*Did you mean "shuffle"/);
    const source = new LanguageModelingSource(tokens, { batchSize: 2, seqLen: 8 });
    const other = new LanguageModelingSource(tokens, { batchSize: 2, seqLen: 16 });
    expect(() => source.restore(other.state())).toThrow(CheckpointError);
    expect(() => source.restore(other.state())).toThrow(/seqLen = 16 but this source has seqLen = 8/);
    expect(() => source.restore({ step: 3 })).toThrow(/not a state saved by LanguageModelingSource/);
  });
});

describe('evalBatches', () => {
  it('covers the contiguous windows once, in order, with a smaller last batch', async () => {
    // 12 tokens, seqLen 2: windows start at 0, 2, 4, 6, 8 (the window at 10 would need token 12)
    const batches = [...evalBatches(ramp(12), { batchSize: 2, seqLen: 2 })];
    const read = await Promise.all(batches.map(readBatch));
    expect(read.map((b) => b.inputs)).toEqual([[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9]]]);
    expect(read[2].targets).toEqual([[9, 10]]);
  });

  it('stops after maxBatches and checks its options when called', async () => {
    const batches = [...evalBatches(ramp(100), { batchSize: 2, seqLen: 2, maxBatches: 2 })];
    expect(batches.length).toBe(2);
    await Promise.all(batches.map(readBatch));
    expect(() => evalBatches(ramp(3), { batchSize: 2, seqLen: 4 })).toThrow(/evalBatches\.seqLen.*only 3/);
  });
});

describe('untagSentence (Brown Corpus form C)', () => {
  it('drops tags and rejoins punctuation and quotes', () => {
    const line =
      "\t``/`` Only/rb a/at relative/jj handful/nn of/in such/jj reports/nns was/bedz received/vbn ''/'' ,/, the/at jury/nn said/vbd ./.";
    expect(untagSentence(line)).toBe('"Only a relative handful of such reports was received", the jury said.');
  });

  it('keeps slashes inside words and spaces brackets, dashes and single quotes', () => {
    const line = "He/pps ate/vbd 1-1/2/cd pies/nns (/( and/or/cc cakes/nns )/) --/-- '/' yum/uh '/' ;/. ok/uh ?/.";
    expect(untagSentence(line)).toBe("He ate 1-1/2 pies (and/or cakes) -- 'yum'; ok?");
  });

  it("writes the corpus's doubled ; ? ! once", () => {
    expect(untagSentence("``/`` See/vb that/dt guy/nn ''/'' ?/. ?/.")).toBe('"See that guy"?');
    expect(untagSentence('relations/nns ;/. ;/.')).toBe('relations;');
  });
});
