/**
 * @weft/pack-test — start projects from apps/templates (`weft new app`), and (in test/) check
 * that packed @weft tarballs and the templates install and run like published packages.
 */
export { newApp, newAppCommand, listTemplates, workspaceVersions, publishedRange, packageNameFor, REPO_ROOT, TEMPLATES_DIR, type NewAppOptions, type NewAppResult } from './new-app.js';
