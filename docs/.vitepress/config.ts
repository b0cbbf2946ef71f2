import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type DefaultTheme } from 'vitepress';
import { apiSidebars } from '../scripts/lib/api-sidebar.js';

const here = (path: string) => new URL(path, import.meta.url);

/** Pages under docs/<dir> (generated ones included), as sidebar links. */
function pagesIn(dir: string): DefaultTheme.SidebarItem[] {
  const folder = here(`../${dir}/`);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith('.md') && name !== 'index.md')
    .sort()
    .map((name) => ({ text: name.replace(/\.md$/, ''), link: `/${dir}/${name.replace(/\.md$/, '')}` }));
}

export default defineConfig({
  title: 'Weft',
  description: 'Efficient and long-context sequence models in TypeScript, one plugin per paper.',
  lang: 'en',
  // docs/ is also a workspace package: its README, scripts and tests are not pages.
  srcExclude: ['README.md', 'scripts/**', 'test/**', 'node_modules/**'],
  lastUpdated: false,
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  // README math such as `{l − c, …, l − 1}` at the end of a line must stay text, not become
  // markdown-it-attrs attributes.
  markdown: { attrs: { disable: true } },
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Plugins', link: '/plugins/' },
      { text: 'API', link: '/api/' },
    ],
    sidebar: {
      '/guide/': [
        {
          text: 'Guide',
          items: [
            { text: 'Getting started', link: '/guide/getting-started' },
            { text: 'Concepts', link: '/guide/concepts' },
            { text: 'Mixers compared', link: '/guide/mixers' },
            { text: 'KV caches compared', link: '/guide/kv-caches' },
            { text: 'Positional encodings compared', link: '/guide/positional-encodings' },
            { text: 'Sparse attention patterns', link: '/guide/sparse-attention' },
            { text: 'Approximate attention vs softmax', link: '/guide/approximate-attention' },
          ],
        },
        {
          text: 'How-to',
          items: [
            { text: 'Train on your own text', link: '/guide/train-your-text' },
            { text: 'Long-context recipes', link: '/guide/long-context' },
            { text: 'Writing a plugin', link: '/guide/writing-a-plugin' },
          ],
        },
      ],
      '/plugins/': [{ text: 'Plugins', items: [{ text: 'Catalogue', link: '/plugins/' }, ...pagesIn('plugins')] }],
      // The API reference: entry points on /api/, an entry point's members on its own pages.
      ...apiSidebars(fileURLToPath(here('../api/'))),
    },
    search: { provider: 'local' },
    outline: [2, 3],
  },
});
