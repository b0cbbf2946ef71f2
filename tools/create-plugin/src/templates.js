/**
 * The files of a new plugin package. Each function returns a file's text; `plan` holds the
 * names derived from the command line (see index.js: planPlugin).
 */

// Peer range on Weft packages: the whole current major, so a core minor never forces a plugin
// release (changesets bumps dependents whose peer range the new version leaves); slot spec
// versions are checked at runtime by the registry.
export const WEFT_PEER_RANGE = '>=0.1.0 <1.0.0';


/** A single-quoted TypeScript string literal. */
export function tsString(value) {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const escaped = value.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

/** `import { a, b } from 'm';`, wrapped one name per line past 100 columns (as prettier would). */
function importLine(names, from) {
  const line = `import { ${names.join(', ')} } from '${from}';`;
  return line.length <= 100
    ? line
    : [`import {`, ...names.map((n) => `  ${n},`), `} from '${from}';`].join('\n');
}

function json(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Per slot: the class name suffix, the core interface it implements, whether it is a
 * Module (has parameters), the capability record (all false: declare only what the code
 * really does), how create() builds it, and the stub class body.
 */
const SLOT_STUBS = {
  embedding: {
    suffix: 'Embedding',
    iface: 'TokenEmbedding',
    module: true,
    capabilities: { tied: false },
    types: ['Tensor'],
    members: (c) => [
      `  /** Token ids [B, L] (int32) -> vectors [B, L, D]. */`,
      `  embed(_ids: Tensor): Tensor {`,
      `    throw notImplemented('${c}.embed()');`,
      `  }`,
    ],
  },
  positional: {
    suffix: 'Encoding',
    iface: 'PositionalEncoding',
    module: false,
    capabilities: { embed: false, rotate: false, bias: false },
    types: ['ForwardContext', 'Tensor'],
    comment:
      'Keep the hooks this encoding uses (and set their capabilities to true); delete the others.',
    members: (c) => [
      `  /** Additive absolute encoding: x [B, L, D], positions [B, L] -> [B, L, D]. */`,
      `  embed(_x: Tensor, _positions: Tensor, _ctx: ForwardContext): Tensor {`,
      `    throw notImplemented('${c}.embed()');`,
      `  }`,
      ``,
      `  /** Rotary family: q, k [B, H, L, Dh] at positions [B, L] -> rotated q, k. */`,
      `  rotate(`,
      `    _q: Tensor,`,
      `    _k: Tensor,`,
      `    _qPositions: Tensor,`,
      `    _kPositions: Tensor,`,
      `    _ctx: ForwardContext,`,
      `  ): [Tensor, Tensor] {`,
      `    throw notImplemented('${c}.rotate()');`,
      `  }`,
      ``,
      `  /** Logit bias for query/key positions [B, Lq], [B, Lk] -> [B or 1, H or 1, Lq, Lk]. */`,
      `  bias(_qPositions: Tensor, _kPositions: Tensor, _ctx: ForwardContext & { x?: Tensor }): Tensor {`,
      `    throw notImplemented('${c}.bias()');`,
      `  }`,
    ],
  },
  attention: {
    suffix: 'Attention',
    iface: 'AttentionKernel',
    module: false,
    noDims: true,
    capabilities: {
      causal: false,
      bidirectional: false,
      bias: false,
      padding: false,
      segments: false,
      decode: false,
      weights: false,
    },
    types: ['AttentionContext', 'Tensor'],
    fields: (caps) => [`  readonly supports = ${caps};`],
    members: (c) => [
      `  /** q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv] -> [B, H, Lq, Dv]. */`,
      `  attend(_q: Tensor, _k: Tensor, _v: Tensor, _ctx: AttentionContext): Tensor {`,
      `    throw notImplemented('${c}.attend()');`,
      `  }`,
    ],
  },
  mixer: {
    suffix: 'Mixer',
    iface: 'SequenceMixer',
    module: true,
    capabilities: {
      causal: false,
      bidirectional: false,
      decode: false,
      segments: false,
      padding: false,
    },
    types: ['ForwardContext', 'Tensor'],
    comment:
      'Claiming decode means implementing initState() and step() (step == forward is tested).',
    members: (c) => [
      `  /** x [B, L, D] -> [B, L, D]. */`,
      `  forward(_x: Tensor, _ctx: ForwardContext): Tensor {`,
      `    throw notImplemented('${c}.forward()');`,
      `  }`,
    ],
  },
  heads: {
    suffix: 'Heads',
    iface: 'HeadLayout',
    module: true,
    capabilities: { decode: false },
    types: ['ForwardContext', 'StepContext', 'Tensor'],
    fields: () => [
      '  readonly heads: number;',
      '  readonly kvHeads: number;',
      '  readonly headDim: number;',
    ],
    init: [
      '    this.heads = dims.heads;',
      '    this.kvHeads = dims.heads;',
      '    this.headDim = dims.headDim;',
    ],
    members: (c) => [
      `  /** x [B, L, D] -> q [B, H, L, Dh], k and v [B, Hkv, L, Dh]. */`,
      `  project(_x: Tensor, _ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {`,
      `    throw notImplemented('${c}.project()');`,
      `  }`,
      ``,
      `  /** o [B, H, L, Dh] -> [B, L, D]. */`,
      `  output(_o: Tensor, _ctx: ForwardContext | StepContext): Tensor {`,
      `    throw notImplemented('${c}.output()');`,
      `  }`,
    ],
  },
  feedforward: {
    suffix: 'FeedForward',
    iface: 'FeedForward',
    module: true,
    capabilities: { auxLoss: false },
    types: ['ForwardContext', 'Tensor'],
    members: (c) => [
      `  /** x [B, L, D] -> [B, L, D]; routed layers add balance losses to ctx.auxLosses. */`,
      `  forward(_x: Tensor, _ctx: ForwardContext): Tensor {`,
      `    throw notImplemented('${c}.forward()');`,
      `  }`,
    ],
  },
  norm: {
    suffix: 'Norm',
    iface: 'Norm',
    module: true,
    capabilities: {},
    types: ['Tensor'],
    members: (c) => [
      `  /** x [..., D] -> [..., D]. */`,
      `  forward(_x: Tensor): Tensor {`,
      `    throw notImplemented('${c}.forward()');`,
      `  }`,
    ],
  },
  reducer: {
    suffix: 'Reducer',
    iface: 'TokenReducer',
    module: true,
    capabilities: { causal: false },
    types: ['ForwardContext', 'Reduction', 'Tensor'],
    members: (c) => [
      `  /** x [B, L, D] -> a shorter [B, L', D] and restore() back to [B, L, D]. */`,
      `  reduce(_x: Tensor, _ctx: ForwardContext): Reduction {`,
      `    throw notImplemented('${c}.reduce()');`,
      `  }`,
    ],
  },
  memory: {
    suffix: 'Memory',
    iface: 'SegmentMemory',
    module: true,
    capabilities: { causal: false },
    types: ['ForwardContext', 'LayerState', 'Tensor'],
    members: (c) => [
      `  /** The empty memory for a batch. */`,
      `  init(_batch: number): LayerState {`,
      `    throw notImplemented('${c}.init()');`,
      `  }`,
      ``,
      `  /** Before a segment: the segment input x [B, L, D] with the memory read in. */`,
      `  read(_x: Tensor, _state: LayerState, _ctx: ForwardContext): Tensor {`,
      `    throw notImplemented('${c}.read()');`,
      `  }`,
      ``,
      `  /** After a segment: the output and the next memory. */`,
      `  write(_h: Tensor, _state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {`,
      `    throw notImplemented('${c}.write()');`,
      `  }`,
    ],
  },
  kvCache: {
    suffix: 'CacheFactory',
    iface: 'KVCacheFactory',
    module: false,
    noDims: true,
    capabilities: { lossy: false },
    types: ['KVCache'],
    fields: () => [
      `  /** The policy reads attention weights through KVCache.observe(). */`,
      `  readonly needsWeights = false;`,
    ],
    members: (c) => [
      `  create(_batch: number, _dims: { kvHeads: number; headDim: number; layerIndex: number }): KVCache {`,
      `    throw notImplemented('${c}.create()');`,
      `  }`,
    ],
  },
  trainer: {
    suffix: 'Trainer',
    iface: 'TrainerHooks',
    module: false,
    noDims: true,
    capabilities: {},
    types: ['Batch'],
    comment:
      'Implement the hooks the strategy needs: transformBatch, beforeStep, afterStep, onEval.',
    members: (c) => [
      `  transformBatch(_batch: Batch, _step: number): Batch {`,
      `    throw notImplemented('${c}.transformBatch()');`,
      `  }`,
    ],
  },
  parallel: {
    suffix: 'Parallel',
    iface: 'SequenceParallel',
    module: false,
    noDims: true,
    capabilities: {},
    types: ['AttentionContext', 'AttentionKernel', 'Tensor'],
    fields: () => [
      `  /** How many devices the sequence is split across. */`,
      `  readonly devices: number = 1;`,
    ],
    members: (c) => [
      `  attend(_q: Tensor, _k: Tensor, _v: Tensor, _ctx: AttentionContext, _kernel: AttentionKernel): Tensor {`,
      `    throw notImplemented('${c}.attend()');`,
      `  }`,
    ],
  },
};

export const STUBBED_SLOTS = Object.keys(SLOT_STUBS);

function pascal(words) {
  return words
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

function camel(words) {
  const p = pascal(words);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** Names used across the generated files. */
export function namesFor(technique, slot) {
  const stub = SLOT_STUBS[slot];
  if (!stub)
    throw new Error(
      `create-plugin has no stub for the slot "${slot}"; add one to tools/create-plugin/src/templates.js`,
    );
  return {
    className: `${pascal(technique)}${stub.suffix}`,
    optionsName: `${pascal(technique)}Options`,
    capabilitiesName: `${camel(technique)}Capabilities`,
  };
}

function capabilitiesLiteral(caps) {
  const entries = Object.entries(caps).map(([k, v]) => `${k}: ${v}`);
  if (entries.length === 0) return '{}';
  const inline = `{ ${entries.join(', ')} }`;
  return inline.length <= 50 ? inline : `{\n${entries.map((e) => `  ${e},`).join('\n')}\n}`;
}

function paperLine(paper) {
  const parts = [paper.title ?? 'TODO: the paper', `(${paper.year ?? 'year'})`];
  if (paper.arxiv) parts.push(`arXiv:${paper.arxiv}`);
  return parts.join(' ');
}

export function packageJson(plan) {
  return json({
    name: plan.packageName,
    version: '0.1.0',
    description: plan.description,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md', 'CHANGELOG.md'],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      test: 'jest',
      typecheck: 'tsc -p tsconfig.json --noEmit',
    },
    peerDependencies: { '@weft/core': WEFT_PEER_RANGE, ...plan.sharedPeers },
    devDependencies: { '@weft/core': 'workspace:*', ...plan.sharedPeers },
  });
}

export function tsconfigJson() {
  return json({
    extends: '../../tsconfig.base.json',
    compilerOptions: {
      outDir: 'dist',
      types: ['node', 'jest'],
      customConditions: ['source'],
      noEmit: true,
      rootDir: '../..',
    },
    include: ['src', 'test'],
  });
}

export function tsconfigBuildJson() {
  return json({
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist', types: ['node', 'jest'] },
    include: ['src'],
  });
}

export function jestConfig() {
  return "module.exports = { ...require('../../jest.preset.cjs') };\n";
}

export function versionTs() {
  return [
    "/** This package's version, for the plugin manifest. `pnpm check-packages` checks it equals package.json's. */",
    "export const VERSION = '0.1.0';",
    '',
  ].join('\n');
}

export function indexTs(plan) {
  const { slot, helper, kind, technique, packageName, paper } = plan;
  const stub = SLOT_STUBS[slot];
  const { className, optionsName, capabilitiesName } = namesFor(technique, slot);
  const createArgs = stub.module
    ? 'options, ctx.dims, ctx.rng'
    : stub.noDims
      ? 'options'
      : 'options, ctx.dims';
  const createParams = stub.module || !stub.noDims ? '(options, ctx)' : '(options)';
  const paperFields = [`title: ${tsString(paper.title)}`];
  if (paper.arxiv) paperFields.push(`arxiv: ${tsString(paper.arxiv)}`);
  paperFields.push(`year: ${paper.year}`);
  return [
    '/**',
    ` * ${packageName}: ${paperLine(paper)}.`,
    ' *',
    ` * Provides the ${slot} kind "${kind}"; the technique lives in ./${technique}.ts.`,
    ' */',
    `import { ${helper}, definePlugin } from '@weft/core';`,
    importLine([capabilitiesName, className, optionsName], `./${technique}.js`),
    "import { VERSION } from './version.js';",
    '',
    `export { ${capabilitiesName}, ${className}, ${optionsName} } from './${technique}.js';`,
    '',
    'export default definePlugin({',
    `  name: ${tsString(packageName)},`,
    '  version: VERSION,',
    `  paper: { ${paperFields.join(', ')} },`,
    '  provides: [',
    `    ${helper}(${tsString(kind)}, {`,
    `      description: ${tsString(plan.description)},`,
    `      options: ${optionsName},`,
    `      capabilities: ${capabilitiesName},`,
    `      create: ${createParams} => new ${className}(${createArgs}),`,
    '    }),',
    '  ],',
    '});',
    '',
  ].join('\n');
}

export function techniqueTs(plan) {
  const { slot, technique, packageName, paper, kind } = plan;
  const stub = SLOT_STUBS[slot];
  const { className, optionsName, capabilitiesName } = namesFor(technique, slot);
  const valueImports = stub.module ? ['Module', 'z'] : ['z'];
  const typeImports = [...stub.types, 'SlotCapabilities', stub.iface];
  if (stub.module || !stub.noDims) typeImports.push('ModelDims');
  if (stub.module) typeImports.push('Rng');
  const imports = [...valueImports, ...[...new Set(typeImports)].sort().map((t) => `type ${t}`)];

  const ctorParams = [`readonly options: ${optionsName}`];
  if (stub.module || !stub.noDims) ctorParams.push('readonly dims: ModelDims');
  if (stub.module) ctorParams.push('_rng: Rng');
  const ctorBody = [];
  if (stub.module) {
    ctorBody.push('    super();');
    ctorBody.push(
      '    // Register weights here (rename _rng to rng), stored [in, out] like x @ W:',
    );
    ctorBody.push(
      "    // this.w = this.addParameter('w', [dims.dModel, dims.dModel], init.torchLinear(), rng);",
    );
  }
  ctorBody.push(...(stub.init ?? []));
  const ctor = ctorBody.length
    ? [`  constructor(${ctorParams.join(', ')}) {`, ...ctorBody, '  }']
    : [`  constructor(${ctorParams.join(', ')}) {}`];
  const heritage = stub.module
    ? `extends Module implements ${stub.iface}`
    : `implements ${stub.iface}`;

  return [
    '/**',
    ` * ${paperLine(paper)}: the ${slot} kind "${kind}".`,
    ' *',
    ' * Notation (from the paper; keep its symbols, with a plain alias where they are cryptic):',
    ' *   B batch, L length, D model width, H heads, Dh head width.',
    ' *',
    " * Write the paper's equations here, top to bottom, with their numbers and a shape comment",
    " * after every reshape (`// [B, H, L, Dh]`). Import tfjs as `import { tf } from '@weft/core'`.",
    ' */',
    importLine(imports, '@weft/core'),
    '',
    "/** Options: the paper's hyper-parameters, with its names and defaults. */",
    `export const ${optionsName} = z.object({`,
    '  // e.g. block: z.number().int().positive().default(128),',
    '});',
    `export type ${optionsName} = z.output<typeof ${optionsName}>;`,
    '',
    '/** What this implementation really supports: the builder refuses combinations from these. */',
    `export const ${capabilitiesName}: SlotCapabilities[${tsString(slot)}] = ${capabilitiesLiteral(stub.capabilities)};`,
    '',
    'function notImplemented(what: string): Error {',
    `  return new Error(\`${packageName}: \${what} is not implemented yet\`);`,
    '}',
    '',
    ...(stub.comment ? [`/** ${stub.comment} */`] : []),
    `export class ${className} ${heritage} {`,
    ...(stub.fields ? [...stub.fields(capabilitiesName), ''] : []),
    ...ctor,
    '',
    ...stub.members(className),
    '}',
    '',
  ].join('\n');
}

export function testTs(plan) {
  const { packageName, slot, kind } = plan;
  return [
    `import { createRegistry } from '@weft/core';`,
    `import plugin from '../src/index.js';`,
    '',
    `describe('${packageName}', () => {`,
    `  it('installs as the ${slot} kind "${kind}" and validates its default options', () => {`,
    '    const registry = createRegistry().use(plugin);',
    `    expect(registry.kinds('${slot}')).toContain('${kind}');`,
    `    expect(registry.validate('${slot}', { kind: '${kind}' })).toMatchObject({ kind: '${kind}' });`,
    '  });',
    '',
    "  // Replace this with the tests PLUGIN-DONE.md asks for: an independent reference, the paper's",
    "  // properties, gradient checks, a parity fixture, the slot's conformance suite and a short",
    '  // training run. It fails on purpose so an unfinished plugin cannot pass CI.',
    "  it('is tested', () => {",
    "    throw new Error('Write the reference, property, gradient and parity tests (see PLUGIN-DONE.md)');",
    '  });',
    '});',
    '',
  ].join('\n');
}

export function readmeTestTs() {
  return [
    "import { join } from 'node:path';",
    "import { runReadmeSnippet } from '@weft/core/testing';",
    '',
    "test('the README usage snippet runs', async () => {",
    "  await runReadmeSnippet(join(__dirname, '..', 'README.md'));",
    '});',
    '',
  ].join('\n');
}

export function readme(plan) {
  const { packageName, slot, kind, paper, helper } = plan;
  const stub = SLOT_STUBS[slot];
  const caps = Object.keys(stub.capabilities);
  const arxivLink = paper.arxiv
    ? ` [arXiv:${paper.arxiv}](https://arxiv.org/abs/${paper.arxiv})`
    : '';
  const importName = plan.technique.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  return [
    `# ${packageName}`,
    '',
    plan.description,
    '',
    '> Scaffolded by `pnpm create-plugin`: replace every TODO, and see PLUGIN-DONE.md for when it is done.',
    '',
    '## What it is',
    '',
    `TODO: the idea in three sentences, then the equations this package implements (with the paper's`,
    'numbers) and what it leaves out.',
    '',
    '## When to use it',
    '',
    'TODO: the problem it solves, what it trades, and when another plugin is the better choice.',
    '',
    '## Install',
    '',
    '```sh',
    `npm install ${packageName} @weft/core @tensorflow/tfjs-core tsyringe`,
    '```',
    '',
    '## Use',
    '',
    '```ts',
    "import { createRegistry } from '@weft/core';",
    `import ${importName} from '${packageName}';`,
    '',
    `const registry = createRegistry().use(${importName});`,
    `const ${stub.suffix.charAt(0).toLowerCase() + stub.suffix.slice(1)} = registry.create('${slot}', { kind: '${kind}' });`,
    '```',
    '',
    `In a model config: \`{ "kind": "${kind}" }\` wherever a \`${slot}\` config goes.`,
    '',
    '## Options',
    '',
    '| Option | Type | Default | Meaning |',
    '| --- | --- | --- | --- |',
    '| TODO | | | |',
    '',
    '## Compatibility',
    '',
    `- Slot \`${slot}\` (provider helper \`${helper}()\`), kind \`${kind}\`.`,
    caps.length
      ? `- Capabilities: ${caps.map((c) => `\`${c}\``).join(', ')}: TODO say which it supports, and what the builder refuses.`
      : '- TODO: what it works with, and what the builder refuses.',
    '- Backends: cpu, wasm. TODO: webgpu, if it ships a WGSL kernel.',
    '',
    '## Cost',
    '',
    'TODO: time and memory in terms of L (length) and D (width), and its row from `pnpm bench`.',
    '',
    '## Paper & citation',
    '',
    `${paper.title} (${paper.year}).${arxivLink}`,
    '',
    '```bibtex',
    'TODO: the BibTeX entry',
    '```',
    '',
  ].join('\n');
}

export function changeset(plan) {
  return [
    '---',
    `'${plan.packageName}': minor`,
    '---',
    '',
    `New plugin: ${plan.paper.title} as the ${plan.slot} kind "${plan.kind}".`,
    '',
  ].join('\n');
}
