import {
  ConfigError,
  createRegistry,
  definePlugin,
  IncompatibleError,
  PluginError,
  positional,
  attention,
  mixer,
  RegistryConflictError,
  slotRef,
  slotToken,
  UnknownKindError,
  WeftError,
  z,
  Module,
  tf,
  RNG,
} from '@weft/core';

const fakeRope = (version = '1.0.0', name = '@weft/pos-rope') =>
  definePlugin({
    name,
    version,
    paper: { title: 'RoFormer', arxiv: '2104.09864', year: 2021 },
    provides: [
      positional('rope', {
        options: z.object({ base: z.number().positive().default(10000), fraction: z.number().min(0).max(1).default(1) }),
        capabilities: { embed: false, rotate: true, bias: false },
        create: (opts) => ({ rotate: (q: tf.Tensor, k: tf.Tensor) => [q, k] as [tf.Tensor, tf.Tensor], base: opts.base }) as never,
      }),
    ],
  });

const kernelPlugin = definePlugin({
  name: '@weft/test-kernels',
  version: '0.1.0',
  paper: { title: 'Test', year: 2024 },
  provides: [
    attention('toy', {
      options: z.object({ block: z.number().int().positive().default(64) }),
      capabilities: { causal: true, bidirectional: true, bias: false, padding: true, segments: false, decode: true, weights: false },
      create: (opts) => ({ attend: (q: tf.Tensor) => q, supports: {} as never, block: opts.block }) as never,
    }),
    mixer('wrapper', {
      options: z.object({ attention: slotRef('attention', { kind: 'toy' }), width: z.number().int().default(2) }),
      nested: { attention: 'attention' },
      create: (opts, ctx) => {
        const m = new Module() as Module & { inner: unknown; opts: unknown };
        m.inner = ctx.build('attention', opts.attention as never);
        m.opts = opts;
        return m as never;
      },
    }),
  ],
});

function thrown(fn: () => unknown): Error & { code?: string; path?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('definePlugin', () => {
  it('rejects malformed manifests with the fix', () => {
    expect(thrown(() => definePlugin({ name: 'Bad Name', version: '1.0.0', provides: [] })).message).toMatch(/package-style name/);
    expect(thrown(() => definePlugin({ name: '@weft/x', version: 'one', provides: [] })).message).toMatch(/version must be semver/);
    expect(thrown(() => definePlugin({ name: '@weft/x', version: '1.0.0', provides: [] })).message).toMatch(/at least one provider/);
    expect(PluginError.isInstance(thrown(() => positional('Bad_Kind', { create: () => ({}) as never })))).toBe(true);
  });
});

describe('registry', () => {
  it('lists installed providers with plugin, version and paper', () => {
    const reg = createRegistry().use(fakeRope(), kernelPlugin);
    const rope = reg.list().find((e) => e.kind === 'rope')!;
    expect(rope).toMatchObject({ slot: 'positional', plugin: '@weft/pos-rope', version: '1.0.0', paper: { arxiv: '2104.09864' } });
    expect(reg.kinds('attention')).toEqual(['toy']);
    expect(reg.container.resolveAll(slotToken('positional'))).toHaveLength(1);
  });

  it('treats the same plugin at the same version as a no-op', () => {
    const reg = createRegistry().use(fakeRope()).use(fakeRope());
    expect(reg.list()).toHaveLength(1);
  });

  it('refuses two versions of one plugin, naming both', () => {
    const e = thrown(() => createRegistry().use(fakeRope('1.0.0')).use(fakeRope('1.1.0')));
    expect(RegistryConflictError.isInstance(e)).toBe(true);
    expect(e.message).toMatch(/@weft\/pos-rope is installed twice, at versions 1\.0\.0 and 1\.1\.0/);
  });

  it('refuses two plugins claiming the same slot and kind, naming both', () => {
    const e = thrown(() => createRegistry().use(fakeRope('1.0.0')).use(fakeRope('2.0.0', '@someone/rope')));
    expect(e.code).toBe('WEFT_REGISTRY_CONFLICT');
    expect(e.message).toContain('Both @weft/pos-rope@1.0.0 and @someone/rope@2.0.0 provide positional "rope"');
  });

  it('refuses objects that are not plugins', () => {
    expect(thrown(() => createRegistry().use({ name: 'x' } as never)).message).toMatch(/definePlugin/);
  });

  it('suggests the nearest installed kind', () => {
    const e = thrown(() => createRegistry().use(fakeRope()).validate('positional', { kind: 'rop' }, 'positional'));
    expect(UnknownKindError.isInstance(e)).toBe(true);
    expect(e.message).toBe('positional.kind: No positional kind "rop" (installed: rope). Did you mean "rope"?');
  });

  it('names the package to install for a known kind that is missing', () => {
    const e = thrown(() => createRegistry().validate('positional', { kind: 'alibi' }, 'positional'));
    expect(e.message).toContain('No positional kind "alibi" (installed: none).');
    expect(e.message).toContain('provided by @weft/pos-alibi: install it');
  });

  it('reports a bad option with its path, value and the rule', () => {
    const reg = createRegistry().use(fakeRope());
    const e = thrown(() => reg.validate('positional', { kind: 'rope', base: -3 }, 'layers[1].positional'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toMatch(/^layers\[1\]\.positional\.base: .*>0.*; got -3 \(number\)$/);
    const typo = thrown(() => reg.validate('positional', { kind: 'rope', bse: 10 }, 'positional'));
    expect(typo.message).toBe('positional.bse: positional "rope" has no option "bse" (options: base, fraction). Did you mean "base"?');
    const wrongType = thrown(() => reg.validate('positional', { kind: 'rope', base: 'big' }, 'positional'));
    expect(wrongType.message).toMatch(/positional\.base: .*expected number.*; got "big" \(string\)/);
  });

  it('fills defaults, accepts the string shorthand, and validates nested slot configs', () => {
    const reg = createRegistry().use(kernelPlugin);
    expect(reg.validate('attention', 'toy')).toEqual({ kind: 'toy', block: 64 });
    expect(reg.validate('mixer', { kind: 'wrapper' })).toEqual({ kind: 'wrapper', width: 2, attention: { kind: 'toy', block: 64 } });
    const e = thrown(() => reg.validate('mixer', { kind: 'wrapper', attention: { kind: 'toy', block: 0 } }, 'mixer'));
    expect(e.message).toMatch(/^mixer\.attention\.block: .*; got 0 \(number\)$/);
    const e2 = thrown(() => reg.validate('mixer', { kind: 'wrapper', attention: { kind: 'nope' } }, 'mixer'));
    expect(e2.message).toMatch(/^mixer\.attention\.kind: No attention kind "nope"/);
  });

  it('creates standalone instances, building nested slots through the context', () => {
    const reg = createRegistry().use(kernelPlugin);
    const m = reg.create('mixer', { kind: 'wrapper', attention: { kind: 'toy', block: 8 } }) as unknown as { inner: { block: number } };
    expect(m.inner.block).toBe(8);
  });

  it('gives each model build its own child container', () => {
    const reg = createRegistry({ seed: 3 });
    const a = reg.createScope();
    const b = reg.createScope();
    a.register('counter', { useValue: 1 });
    expect(a.isRegistered('counter')).toBe(true);
    expect(b.isRegistered('counter')).toBe(false);
    expect(a.resolve(RNG)).toBe(reg.container.resolve(RNG));
  });

  it('errors are WeftErrors with stable codes', () => {
    const e = new IncompatibleError('x');
    expect(WeftError.isInstance(e)).toBe(true);
    expect(IncompatibleError.isInstance(e)).toBe(true);
    expect(ConfigError.isInstance(e)).toBe(false);
    expect(e.code).toBe('WEFT_INCOMPATIBLE');
    expect(WeftError.isInstance({ ...e, [Symbol.for('weft.error')]: true })).toBe(true);
  });
});

test('CORE_VERSION equals package.json', async () => {
  const { CORE_VERSION } = await import('@weft/core');
  const { readFileSync } = await import('node:fs');
  expect(CORE_VERSION).toBe(JSON.parse(readFileSync(`${__dirname}/../package.json`, 'utf8')).version);
});
