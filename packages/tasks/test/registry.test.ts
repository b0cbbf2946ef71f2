import { CheckpointError, ConfigError, Rng, tf, useBackend, type Batch } from '@weft/core';
import { CopyTask, TASKS, TASK_OPTIONS, createTask, taskSource } from '@weft/tasks';

async function read(batch: Batch): Promise<number[][]> {
  const values = [(await batch.inputs.array()) as number[][], (await batch.lossMask!.array()) as number[][]];
  tf.dispose([batch.inputs, batch.targets, batch.lossMask!]);
  return values.flat();
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('createTask', () => {
  it('builds every registered task from defaults, and each has an options schema', () => {
    const names = [
      'copy',
      'selective-copy',
      'associative-recall',
      'induction-heads',
      'listops',
      'passkey',
      'addition',
      'sorting',
    ];
    expect(Object.keys(TASKS).sort()).toEqual([...names].sort());
    expect(Object.keys(TASK_OPTIONS).sort()).toEqual([...names].sort());
    for (const name of names) expect(createTask(name).name).toBe(name);
  });

  it('fills defaults and keeps the options that rebuild the task', () => {
    const task = createTask('copy', { length: 4 });
    expect(task.options).toEqual({ length: 4, symbols: 8 });
    expect(task.seqLen).toBe(8);
    expect(createTask(task.name, JSON.parse(JSON.stringify(task.options))).sample(new Rng(1), 2)).toEqual(task.sample(new Rng(1), 2));
  });

  it('names an unknown task and suggests the nearest', () => {
    expect(() => createTask('cpy')).toThrow(ConfigError);
    expect(() => createTask('cpy')).toThrow(/task: no synthetic task "cpy" \(tasks: copy, selective-copy,.*\)\. Did you mean "copy"\?/);
    expect(() => createTask('toString')).toThrow(/no synthetic task "toString"/);
  });

  it('names the field, the value and what is allowed for bad options', () => {
    expect(() => createTask('copy', { length: 0 })).toThrow(/copy\.length: .*>=1; got 0 \(number\)/);
    expect(() => createTask('sorting', { length: 2.5 })).toThrow(/sorting\.length: .*int.*; got 2\.5/);
    expect(() => createTask('copy', { lenght: 4 })).toThrow(/copy\.lenght: unknown option "lenght" \(the options are: length, symbols\)\. Did you mean "length"\?/);
    expect(() => createTask('passkey', { depth: 2 })).toThrow(/passkey\.depth: .*<=1; got 2/);
  });

  it('checks options that depend on each other', () => {
    expect(() => createTask('selective-copy', { regionLength: 4, count: 5 })).toThrow(/selective-copy\.count: 5 data tokens do not fit in a region of regionLength = 4/);
    expect(() => createTask('associative-recall', { pairs: 4, queries: 5 })).toThrow(/associative-recall\.queries: .*make queries <= pairs/);
    expect(() => createTask('associative-recall', { pairs: 8, keys: 4 })).toThrow(/associative-recall\.keys: .*make keys >= pairs/);
    expect(() => createTask('passkey', { seqLen: 50 })).toThrow(/passkey\.seqLen: 50 bytes cannot hold .*use seqLen >= \d+/);
    expect(() => createTask('listops', { seqLen: 20, minLength: 30 })).toThrow(/listops\.minLength: 30 is more than the 19 tokens/);
  });
});

describe('taskSource', () => {
  it('is deterministic per seed', async () => {
    const task = new CopyTask({ length: 4 });
    const a = taskSource(task, { batchSize: 3, seed: 5 });
    const b = taskSource(task, { batchSize: 3, seed: 5 });
    const c = taskSource(task, { batchSize: 3, seed: 6 });
    const first = await read(a.next());
    expect(await read(b.next())).toEqual(first);
    expect(await read(c.next())).not.toEqual(first);
  });

  it('resumes exactly from state(), through JSON', async () => {
    const task = createTask('associative-recall');
    const source = taskSource(task, { batchSize: 2, seed: 1 });
    await read(source.next());
    const saved = JSON.parse(JSON.stringify(source.state()));
    const expected = [await read(source.next()), await read(source.next())];
    const resumed = taskSource(task, { batchSize: 2, seed: 42 });
    resumed.restore(saved);
    expect([await read(resumed.next()), await read(resumed.next())]).toEqual(expected);
  });

  it('refuses a state of another task or batch size, and bad options', () => {
    const copy = taskSource(createTask('copy'), { batchSize: 2 });
    const sorting = taskSource(createTask('sorting'), { batchSize: 2 });
    expect(() => copy.restore(sorting.state())).toThrow(CheckpointError);
    expect(() => copy.restore(sorting.state())).toThrow(/state is for task "sorting" with batchSize 2 but this source is "copy"/);
    expect(() => copy.restore(null)).toThrow(/not a state saved by TaskSource\.state\(\)/);
    expect(() => taskSource(createTask('copy'), { batchSize: -1 })).toThrow(/taskSource\.batchSize: .*; got -1/);
  });
});
