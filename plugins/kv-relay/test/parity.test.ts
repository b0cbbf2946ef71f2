/** Parity with tools/parity/kv-relay.py (our PyTorch port of Eq. 4-6, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, useBackend } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { attentionWithLse, relayAttend, relayMerge, RelayKVCache } from '../src/index.js';

interface Fixture {
  B: number; H: number; Ls: number; Lr: number; T: number; Dh: number;
  q: number[]; ks: number[]; vs: number[]; kr: number[]; vr: number[];
  lseSys: number[]; lseReq: number[]; out: number[];
}

beforeAll(() => useBackend('cpu'));

it('the lse of each part, the Eq. 6 merge and relayAttend match the PyTorch port', () => {
  const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'relay.json'), 'utf8')) as Fixture;
  const { B, H, Ls, Lr, T, Dh } = fx;
  const q = tf.tensor4d(fx.q, [B, H, T, Dh]);
  const ks = tf.tensor4d(fx.ks, [1, H, Ls, Dh]);
  const vs = tf.tensor4d(fx.vs, [1, H, Ls, Dh]);
  const kr = tf.tensor4d(fx.kr, [B, H, Lr, Dh]);
  const vr = tf.tensor4d(fx.vr, [B, H, Lr, Dh]);
  const sys = attentionWithLse(q, tf.broadcastTo(ks, [B, H, Ls, Dh]), tf.broadcastTo(vs, [B, H, Ls, Dh]));
  const req = attentionWithLse(q, kr, vr, { causal: true });
  expectTensorsClose(sys.lse, fx.lseSys, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(req.lse, fx.lseReq, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(relayMerge(sys.out, sys.lse, req.out, req.lse), fx.out, { atol: 1e-5, rtol: 1e-4 });
  const cache = new RelayKVCache(B, H, Dh);
  const ps = tf.tensor2d([Array.from({ length: Ls }, (_, i) => i)], [1, Ls], 'int32');
  const pr = tf.tensor2d(Array.from({ length: B * Lr }, (_, i) => Ls + (i % Lr)), [B, Lr], 'int32');
  cache.setSystem(ks, vs, ps);
  cache.append(kr, vr, pr);
  expectTensorsClose(relayAttend(q, cache), fx.out, { atol: 1e-5, rtol: 1e-4 });
  cache.dispose();
  tf.dispose([q, ks, vs, kr, vr, ps, pr, sys.out, sys.lse, req.out, req.lse]);
});
