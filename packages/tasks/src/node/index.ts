/**
 * @weft/tasks/node — the Node-only parts of @weft/tasks: reading text from disk and the
 * bundled Brown Corpus.
 */
export { loadTextFiles, type LoadTextFilesOptions } from './load-text-files.js';
export { streamTextFile } from './stream-text-file.js';
export { loadBrownCorpus, brownCorpusDirectory } from './load-brown-corpus.js';
