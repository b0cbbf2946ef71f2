/**
 * Turning the tagged Brown Corpus (Francis & Kucera, 1964/1979; "Form C") into plain text.
 *
 * Each sentence of a corpus file is one line of `word/tag` tokens, e.g.
 *   ``/`` Only/rb a/at relative/jj handful/nn ''/'' ,/, the/at jury/nn said/vbd ./.
 * A word may itself contain slashes (`1/2/cd`), so the tag is what follows the last one.
 * The words are rejoined with English spacing: no space before closing punctuation, none
 * after an opening bracket or quote, and the corpus's `` '' quote pairs become ". The corpus
 * often writes a ; ? or ! twice in a row (`?/. ?/.`); the repeat is dropped.
 */

/** Tokens written without a space before them. */
const ATTACH_LEFT = new Set(['.', ',', ';', ':', '?', '!', ')', ']', "''"]);
/** Tokens written without a space after them. */
const ATTACH_RIGHT = new Set(['(', '[', '``']);
/** Punctuation the corpus doubles; a token equal to the one before it is skipped. */
const DOUBLED_PUNCTUATION = new Set([';', '?', '!']);
/** How the corpus's quote tokens are written in plain text. */
const QUOTE_TEXT: Record<string, string> = { '``': '"', "''": '"' };

/** The word of one `word/tag` token. */
function wordOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/** One tagged sentence line as readable text. */
export function untagSentence(line: string): string {
  let text = '';
  let glueNext = true; // no space before the first word
  let singleQuoteOpen = false;
  let previousWord = '';
  for (const token of line.trim().split(/\s+/)) {
    if (!token) continue;
    const word = wordOf(token);
    const isRepeat = word === previousWord && DOUBLED_PUNCTUATION.has(word);
    previousWord = word;
    if (isRepeat) continue;
    let attachLeft = ATTACH_LEFT.has(word);
    let attachRight = ATTACH_RIGHT.has(word);
    if (word === "'") {
      // A lone single quote opens and closes quotations in turn within a sentence.
      attachLeft = singleQuoteOpen;
      attachRight = !singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    if (!glueNext && !attachLeft) text += ' ';
    text += QUOTE_TEXT[word] ?? word;
    glueNext = attachRight;
  }
  return text;
}

/** A whole tagged corpus file as plain text, one sentence per line. */
export function untagBrown(tagged: string): string {
  return tagged
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(untagSentence)
    .join('\n');
}
