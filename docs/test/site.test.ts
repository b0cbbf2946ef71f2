/**
 * The site end to end: the generators and `vitepress build` succeed, every internal link of
 * the built HTML resolves, and headless Chromium finds the key content on the home page, the
 * catalogue (whose filter must work), three plugin pages and the TypeDoc API reference.
 *
 * Run with `node --conditions=source --import tsx --test`: the expected option names are read
 * straight from the plugins' zod schemas (`options.shape`), not from the generated pages.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadPlugins, type LoadResult } from '../scripts/lib/load-plugins.js';
import { apiEntries } from '../scripts/lib/api-entries.js';
import { DIST_DIR, DOCS_DIR, PLUGIN_PAGES_DIR, REPO_ROOT } from '../scripts/lib/paths.js';
import { checkLinks } from './support/link-check.js';
import { serveStatic, type StaticServer } from './support/static-server.js';
import { declaredSignature } from './support/ts-signature.js';

const CHROMIUM = process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'];

function run(args: string[]): void {
  // Generous: TypeDoc and `vitepress build` each take tens of seconds on a busy two-core runner.
  const result = spawnSync(process.execPath, args, { cwd: DOCS_DIR, encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, `${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}

describe('documentation site', { concurrency: false }, () => {
  let loaded: LoadResult;

  before(async () => {
    loaded = await loadPlugins();
  });

  it('generates plugin pages and builds', () => {
    rmSync(DIST_DIR, { recursive: true, force: true });
    run(['--conditions=source', '--import', 'tsx', 'scripts/generate-plugin-pages.ts']);
    run(['--import', 'tsx', 'scripts/generate-api-pages.ts']);
    for (const { slug } of loaded.plugins) assert.ok(existsSync(join(PLUGIN_PAGES_DIR, `${slug}.md`)), `no page for ${slug}`);
    const vitepress = join(createRequire(import.meta.url).resolve('vitepress/package.json'), '../bin/vitepress.js');
    run([vitepress, 'build']);
    const apiPages = ['api/index.html', 'api/core/index.html', 'api/core/testing/index.html', 'api/nn/functions/buildModel.html', 'api/core/classes/Registry.html'];
    for (const page of ['index.html', 'plugins/index.html', 'plugins/pos-rope.html', 'guide/concepts.html', ...apiPages]) {
      assert.ok(existsSync(join(DIST_DIR, page)), `dist/${page} was not built`);
    }
  });

  it('has no broken internal links', () => {
    const { pages, links, broken } = checkLinks(DIST_DIR);
    assert.ok(pages >= loaded.plugins.length + 5, `only ${pages} pages built`);
    assert.ok(links > 100, `only ${links} internal links found: is the checker reading the HTML?`);
    assert.deepEqual(broken.map((b) => `${b.page}: ${b.link} (${b.reason})`), []);
  });

  describe('in headless Chromium', () => {
    let server: StaticServer;
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];

    before(async () => {
      server = await serveStatic(DIST_DIR);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      page = await browser.newPage();
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
      page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()}: ${r.url().replace(server.url, '')}`));
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    const open = async (path: string) => {
      const response = await page.goto(server.url + path, { waitUntil: 'load' });
      assert.equal(response?.status(), 200, `${path} answered ${response?.status()}`);
      // VitePress hydrates on load; wait for the app to be interactive.
      await page.waitForSelector('#app .VPContent');
    };

    const optionNames = (slug: string) => {
      const plugin = loaded.plugins.find((p) => p.slug === slug)!.plugin;
      return plugin.provides.flatMap((p) => Object.keys(p.options.shape));
    };

    it('home page: what Weft is and the quick start', async () => {
      await open('/');
      assert.equal(await page.locator('.VPHero .name').innerText(), 'Weft');
      const text = await page.locator('.VPContent').innerText();
      assert.match(text, /What Weft is/);
      assert.match(text, /pnpm install --frozen-lockfile && pnpm main/);
      assert.match(text, /pnpm install --frozen-lockfile && pnpm test:all/);
    });

    it('catalogue: every plugin listed, and the filter narrows the rows', async () => {
      const catalogue = JSON.parse(readFileSync(join(PLUGIN_PAGES_DIR, 'catalogue.json'), 'utf8')) as { slug: string }[];
      await open('/plugins/');
      const rows = page.locator('tr[data-plugin]');
      assert.equal(await rows.count(), loaded.plugins.length);
      assert.deepEqual((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-plugin')))).sort(), catalogue.map((r) => r.slug).sort());
      assert.ok(await page.locator('section[data-family="pos"] tr[data-plugin="pos-rope"]').isVisible());

      await page.fill('input.catalogue-filter', 'xpos');
      await page.waitForFunction(() => document.querySelectorAll('tr[data-plugin]').length === 1);
      assert.equal(await page.locator('tr[data-plugin]').getAttribute('data-plugin'), 'pos-xpos');
      assert.match(await page.locator('[data-testid="catalogue-count"]').innerText(), new RegExp(`^1 of ${catalogue.length} plugins$`));

      await page.fill('input.catalogue-filter', 'positional 2021');
      await page.waitForFunction(() => [...document.querySelectorAll('tr[data-plugin]')].every((tr) => /positional/.test(tr.textContent ?? '')));
      const matched = await page.locator('tr[data-plugin]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-plugin')));
      assert.ok(matched.includes('pos-rope'), `"positional 2021" should match pos-rope; got ${matched.join(', ')}`);
      assert.ok(!matched.includes('pos-xpos'), 'pos-xpos is from 2022');

      await page.fill('input.catalogue-filter', 'no-such-technique');
      await page.waitForSelector('text=No plugin matches');
      await page.fill('input.catalogue-filter', '');
      await page.waitForFunction((n) => document.querySelectorAll('tr[data-plugin]').length === n, catalogue.length);
    });

    for (const [slug, title, paper] of [
      ['pos-rope', '@weft/pos-rope', 'RoFormer'],
      ['pos-xpos', '@weft/pos-xpos', 'A Length-Extrapolatable Transformer'],
      ['standard', '@weft/nn', 'Attention Is All You Need'],
    ] as const) {
      it(`plugin page ${slug}: title, paper, one options row per schema field`, async () => {
        await open(`/plugins/${slug}.html`);
        const h1 = await page.locator('.vp-doc h1').innerText();
        assert.equal(h1.replace(/\u200b/g, '').trim(), title); // minus the heading's anchor
        assert.ok(await page.locator(`.vp-doc a[href^="https://arxiv.org/abs/"]:has-text("${paper}")`).first().isVisible());
        const firstCells = await page.locator('.vp-doc table tr td:first-child').allInnerTexts();
        for (const name of optionNames(slug)) assert.ok(firstCells.includes(name), `no options row for "${name}" on ${slug}`);
        const headings = await page.locator('.vp-doc h2').allInnerTexts();
        for (const h of ['The idea', 'Options', 'Capabilities', 'Install and use', 'Tests and parity']) {
          assert.ok(headings.some((x) => x.includes(h)), `no "${h}" section on ${slug}`);
        }
      });
    }

    it('API index: one row per entry point of the library packages', async () => {
      await open('/api/');
      const listed = await page.locator('.vp-doc table tr td:first-child').allInnerTexts();
      const expected = apiEntries(join(REPO_ROOT, 'packages')).map((e) => e.specifier);
      assert.ok(expected.includes('@weft/nn') && expected.includes('@weft/core/testing'), `entry points: ${expected.join(', ')}`);
      assert.deepEqual(listed, expected);
    });

    it('API page buildModel: the signature and parameter types of the source, linked to their pages', async () => {
      const declared = declaredSignature(join(REPO_ROOT, 'packages/nn/src/build-model.ts'), 'buildModel');
      assert.ok(declared.params.length >= 2, 'buildModel(registry, config) has parameters');
      await open('/api/nn/functions/buildModel.html');
      assert.equal((await page.locator('.vp-doc h1').innerText()).replace(/\u200b/g, '').trim(), 'Function: buildModel()');
      const code = await page.locator('.vp-doc div[class*="language-ts"] pre').first().innerText();
      const names = declared.params.map((p) => p.name + (p.optional ? '?' : '')).join(', ');
      assert.equal(code.replace(/\s+/g, ' ').trim(), `function buildModel(${names}): ${declared.returns};`);
      const rows = await page.locator('.vp-doc table').first().locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())),
      );
      assert.deepEqual(rows.map((r) => r.slice(0, 2)), declared.params.map((p) => [p.name + (p.optional ? '?' : ''), p.type]));
      // A parameter type from another package links to that type's own page.
      await page.locator('.vp-doc table a:has-text("Registry")').first().click();
      await page.waitForURL(/\/api\/core\/classes\/Registry(\.html)?$/);
      await page.waitForSelector('.vp-doc h1:has-text("Class: Registry")');
    });

    it('logs no errors in the browser (hydration included)', () => {
      assert.deepEqual(errors, []);
    });
  });
});
