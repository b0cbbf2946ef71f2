import { createRegistry, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, generate, standard } from '@weft/nn';
import t5Bias from '@weft/pos-t5-bias';

const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 16, positional: { kind: 't5-bias' } };
const tableNames = (m: CausalLM) => m.namedParameters().filter(([n]) => n.endsWith('relative_attention_bias')).map(([n]) => n);

describeWithBackends('T5 bias in a causal LM', () => {
  it('shares one [32, H] table across layers by default; perLayer: true gives every layer its own', () => {
    const shared = buildModel(createRegistry().use(standard, t5Bias), config) as CausalLM;
    expect(tableNames(shared)).toEqual(['positional.relative_attention_bias']);
    expect(shared.stateDict()['positional.relative_attention_bias'].shape).toEqual([32, 4]);
    shared.dispose();
    const own = buildModel(createRegistry().use(standard, t5Bias), { ...config, positional: { kind: 't5-bias', perLayer: true } }) as CausalLM;
    const names = tableNames(own);
    expect(names).toEqual(expect.arrayContaining(['blocks.0.mixer.positional.relative_attention_bias', 'blocks.1.mixer.positional.relative_attention_bias']));
    own.dispose();
  });

  it('cached decoding (model.step) gives the same logits as model.forward; greedy generate agrees', () => {
    const model = buildModel(createRegistry().use(standard, t5Bias), { ...config, seed: 4 }) as CausalLM;
    // Make the bias matter: a large random table.
    const t = model.stateDict()['positional.relative_attention_bias'];
    tf.tidy(() => (t as tf.Variable).assign(new Rng(9).normalTensor(t.shape).mul(3)));
    const ids = tf.tensor2d([[1, 5, 2, 9, 4, 4, 7, 3, 0, 12], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5]], [2, 10], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(2);
    const parts: Tensor[] = [];
    const prompt = ids.slice([0, 0], [2, 3]);
    parts.push(model.step(prompt, cache));
    for (let s = 3; s < 10; s++) {
      const tok = ids.slice([0, s], [2, 1]);
      parts.push(model.step(tok, cache));
      tok.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, prompt, stepped, ...parts]);
    const prompts = [[1, 5, 2], [3, 3, 8]];
    expect(generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true })).toEqual(generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false }));
    model.dispose();
  });

  it('trains: learns to copy the previous token, the table receives updates, no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, t5Bias), { ...config, layers: 1 }) as CausalLM;
    const table = model.stateDict()['positional.relative_attention_bias'];
    const initial = table.clone();
    const data = new Rng(5);
    const [B, L] = [8, 12];
    const batch = () => {
      const rows = Array.from({ length: B }, () => Array.from({ length: L }, () => Math.floor(data.uniform() * 16)));
      return {
        inputs: tf.tensor2d(rows, [B, L], 'int32'),
        targets: tf.tensor2d(rows.map((r) => [0, ...r.slice(0, L - 1)]), [B, L], 'int32'), // target_t = input_{t-1}
        lossMask: tf.tensor2d(rows.map(() => [0, ...new Array(L - 1).fill(1)]), [B, L], 'float32'),
      };
    };
    const opt = tf.train.adam(3e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets, b.lossMask]);
    }, 100);
    const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    expect(losses[0]).toBeGreaterThan(2.4); // chance is ln 16 = 2.77
    expect(mean(losses.slice(-10))).toBeLessThan(2.0);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(table, initial))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-2);
    initial.dispose();
    opt.dispose();
    model.dispose();
  });
}, ['wasm']); // model-level tests on one backend: the bias itself is covered on cpu and wasm
