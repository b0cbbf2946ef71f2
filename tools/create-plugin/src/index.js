/**
 * create-plugin: write a new plugin package, plugins/<family>-<technique>/, with the
 * standard layout (see CONTRIBUTING.md) and a changeset.
 *
 * planPlugin() validates the request and derives every name; writePlugin() writes the
 * files (into a temporary folder that is renamed into place, so a failure leaves nothing
 * half-written). createPlugin() does both.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FAMILIES, PLUGIN_NAME_PATTERN, SHARED_PEERS, readSlots } from '@weft/check-packages';
import * as templates from './templates.js';

export class CreatePluginError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CreatePluginError';
  }
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function didYouMean(value, candidates) {
  let best;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(value.length / 3))
    ? ` Did you mean "${best}"?`
    : '';
}

const ARXIV_PATTERN = /^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?\/\d{7})(v\d+)?$/;

/** The slot plugins of a family usually fill, per core's SLOT_FAMILIES (undefined if none or several). */
function usualSlot(family, slotFamilies) {
  const slots = Object.keys(slotFamilies).filter((s) => slotFamilies[s].includes(family));
  return slots.length === 1 ? slots[0] : undefined;
}

/**
 * Validate a request and derive every name the templates need.
 * `request`: { name, slot, paperTitle?, arxiv?, year?, description? }; `workspaceRoot`: the
 * repository whose packages/core defines the slots. Returns { plan, warnings } or throws
 * CreatePluginError with the field, the value and the fix.
 */
export function planPlugin(request, { workspaceRoot }) {
  const warnings = [];
  const families = Object.keys(FAMILIES);
  const rawName = (request.name ?? '').trim();
  if (!rawName) {
    throw new CreatePluginError(
      'Give the plugin a name: pnpm create-plugin <family>-<technique> --slot <slot> (e.g. attn-flash --slot attention).',
    );
  }
  const name = rawName.replace(/^@weft\//, '');
  const match = name.match(PLUGIN_NAME_PATTERN);
  if (!match) {
    throw new CreatePluginError(
      `The plugin name "${rawName}" is malformed: use <family>-<technique> in lowercase letters, digits and single dashes, ` +
        `starting with a letter (e.g. "attn-flash", "pos-rope-scaling"). Families: ${families.join(', ')}.`,
    );
  }
  const [, family, technique] = match;
  if (!(family in FAMILIES)) {
    throw new CreatePluginError(
      `Unknown family "${family}" in "${name}" (families: ${families.join(', ')}).${didYouMean(family, families)} ` +
        'The family is the part before the first dash.',
    );
  }

  const { names: slotNames, families: slotFamilies, helpers } = readSlots(workspaceRoot);
  const slot = request.slot;
  if (!slot) {
    const usual = usualSlot(family, slotFamilies);
    throw new CreatePluginError(
      `--slot is required (slots: ${slotNames.join(', ')}).` +
        (usual ? ` A ${family}-* plugin usually fills --slot ${usual}.` : ''),
    );
  }
  if (!slotNames.includes(slot)) {
    throw new CreatePluginError(
      `Unknown slot "${slot}" (slots: ${slotNames.join(', ')}).${didYouMean(slot, slotNames)}`,
    );
  }
  const helper = helpers[slot];
  if (!helper) {
    throw new CreatePluginError(
      `@weft/core exports no provider helper for the slot "${slot}" (looked for \`export const ${slot} = defineProvider('${slot}')\` in packages/core/src/plugin.ts).`,
    );
  }
  const expectedFamilies = slotFamilies[slot] ?? [];
  if (expectedFamilies.length && !expectedFamilies.includes(family)) {
    warnings.push(
      `The ${slot} slot is usually filled by ${expectedFamilies.map((f) => `${f}-*`).join(' or ')} plugins, not ${family}-* ` +
        `(SLOT_FAMILIES in packages/core/src/slots.ts). Continuing: rename the plugin if the family is wrong.`,
    );
  }

  const paper = {
    title: request.paperTitle?.trim(),
    arxiv: request.arxiv?.trim(),
    year: undefined,
  };
  if (paper.title !== undefined && (!paper.title || /[\r\n]/.test(paper.title))) {
    throw new CreatePluginError(
      `--paper-title must be one non-empty line; got ${JSON.stringify(request.paperTitle)}.`,
    );
  }
  if (paper.arxiv !== undefined) {
    paper.arxiv = paper.arxiv
      .replace(/^(arxiv:|https?:\/\/arxiv\.org\/(abs|pdf)\/)/i, '')
      .replace(/\.pdf$/, '');
    if (!ARXIV_PATTERN.test(paper.arxiv)) {
      throw new CreatePluginError(
        `--arxiv "${request.arxiv}" is not an arXiv id: use the form 2104.09864 (or an abs URL).`,
      );
    }
  }
  const thisYear = new Date().getFullYear();
  if (request.year !== undefined) {
    const year = Number(request.year);
    if (!Number.isInteger(year) || year < 1950 || year > thisYear + 1) {
      throw new CreatePluginError(
        `--year "${request.year}" is not a publication year: use four digits, e.g. 2021.`,
      );
    }
    paper.year = year;
  }
  if (!paper.title) {
    paper.title = 'TODO: the paper title';
    warnings.push(
      'No --paper-title given: fill in `paper` in src/index.ts and the README\'s "Paper & citation".',
    );
  }
  if (paper.year === undefined) {
    paper.year = thisYear;
    if (request.paperTitle)
      warnings.push(
        `No --year given: the manifest says ${thisYear}; correct it in src/index.ts and the README.`,
      );
  }

  const corePackage = JSON.parse(
    readFileSync(join(workspaceRoot, 'packages/core/package.json'), 'utf8'),
  );
  const sharedPeers = {};
  for (const dep of SHARED_PEERS) {
    if (dep === '@weft/core') continue;
    const range = corePackage.peerDependencies?.[dep] ?? corePackage.devDependencies?.[dep];
    if (!range)
      throw new CreatePluginError(
        `packages/core/package.json does not declare ${dep}; cannot pick the range plugins should use.`,
      );
    sharedPeers[dep] = range;
  }

  const description =
    request.description?.trim() ||
    (request.paperTitle
      ? `${paper.title} for Weft: the ${slot} kind "${technique}".`
      : `Weft plugin: the ${slot} kind "${technique}".`);

  return {
    plan: {
      name,
      family,
      technique,
      kind: technique,
      slot,
      helper,
      packageName: `@weft/${name}`,
      paper,
      description,
      sharedPeers,
    },
    warnings,
  };
}

/** Relative path -> text of every file of the package. */
export function renderFiles(plan) {
  return {
    'package.json': templates.packageJson(plan),
    'tsconfig.json': templates.tsconfigJson(),
    'tsconfig.build.json': templates.tsconfigBuildJson(),
    'jest.config.cjs': templates.jestConfig(),
    'README.md': templates.readme(plan),
    'src/index.ts': templates.indexTs(plan),
    'src/version.ts': templates.versionTs(),
    [`src/${plan.technique}.ts`]: templates.techniqueTs(plan),
    [`test/${plan.technique}.test.ts`]: templates.testTs(plan),
    'test/readme.test.ts': templates.readmeTestTs(),
  };
}

/**
 * Write the package into `dir/<name>` and its changeset into `changesetDir`. Refuses, writing
 * nothing, when either already exists.
 */
export function writePlugin(plan, { dir, changesetDir }) {
  const target = join(dir, plan.name);
  const changesetFile = join(changesetDir, `${plan.name}-initial.md`);
  if (existsSync(target)) {
    throw new CreatePluginError(
      `${target} already exists. Pick another name, or remove the folder first. Nothing was written.`,
    );
  }
  if (existsSync(changesetFile)) {
    throw new CreatePluginError(
      `${changesetFile} already exists (a changeset for ${plan.packageName}). Remove it first. Nothing was written.`,
    );
  }
  const files = renderFiles(plan);
  const staging = join(dir, `.${plan.name}.create-plugin-${process.pid}`);
  try {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(staging, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  mkdirSync(changesetDir, { recursive: true });
  writeFileSync(changesetFile, templates.changeset(plan));
  return { dir: target, files: Object.keys(files), changeset: changesetFile };
}

/** Plan and write. Returns { dir, files, changeset, plan, warnings }. */
export function createPlugin(
  request,
  {
    workspaceRoot,
    dir = join(workspaceRoot, 'plugins'),
    changesetDir = join(dirname(dir), '.changeset'),
  },
) {
  const { plan, warnings } = planPlugin(request, { workspaceRoot });
  return { ...writePlugin(plan, { dir, changesetDir }), plan, warnings };
}
