import DefaultTheme from 'vitepress/theme';
import type { Theme } from 'vitepress';
import PluginCatalogue from './PluginCatalogue.vue';
import './custom.css';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('PluginCatalogue', PluginCatalogue);
  },
} satisfies Theme;
