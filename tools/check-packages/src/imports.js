/**
 * Finding the module imports of a TypeScript/JavaScript source file without a parser:
 * comments are blanked out first (string and template literals are respected), then the
 * import/export/require forms are matched. Good enough for lint-style checks on our own code.
 */

/** Replace comments with spaces (keeping newlines, so line numbers still match). */
export function stripComments(source) {
  return scan(source).code;
}

/**
 * One pass over the source: `code` is the text with comments blanked out, `strings` the
 * [start, end) offsets of string and template literals (so matches inside them are skipped).
 */
function scan(source) {
  const strings = [];
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      out += '  ';
      i += 2;
      while (i < n && !(source[i] === '*' && source[i + 1] === '/')) {
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      if (i < n) {
        out += '  ';
        i += 2;
      }
    } else if (c === "'" || c === '"' || c === '`') {
      const quote = c;
      const start = i;
      out += c;
      i++;
      while (i < n && source[i] !== quote) {
        if (source[i] === '\\' && i + 1 < n) {
          out += source[i] + source[i + 1];
          i += 2;
          continue;
        }
        if (quote !== '`' && source[i] === '\n') break; // unterminated: stop at end of line
        out += source[i];
        i++;
      }
      if (i < n) {
        out += source[i];
        i++;
      }
      strings.push([start, i]);
    } else {
      out += c;
      i++;
    }
  }
  return { code: out, strings };
}

function lineOf(text, index) {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** `{ type A, type B }` (every specifier type-only) carries no runtime import. */
function isTypeOnlyClause(clause) {
  const braces = clause.trim().match(/^\{([\s\S]*)\}$/);
  if (!braces) return false;
  const specifiers = braces[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return specifiers.length > 0 && specifiers.every((s) => /^type\s/.test(s));
}

/**
 * Every module a source file imports, with whether the import exists at runtime.
 * Returns [{ specifier, typeOnly, line, statement }].
 */
export function findImports(source) {
  const { code: text, strings } = scan(source);
  const insideString = (index) => strings.some(([start, end]) => index > start && index < end);
  const found = [];
  const add = (match, specifier, typeOnly) => {
    if (insideString(match.index)) return;
    found.push({
      specifier,
      typeOnly,
      line: lineOf(text, match.index),
      statement: match[0].replace(/\s+/g, ' ').trim(),
    });
  };

  // import x from 'm'; import { a, type B } from 'm'; import type { T } from 'm'; import * as n from 'm'
  for (const m of text.matchAll(
    /\bimport\s+(type\s+)?([^;'"`()]*?)\s*\bfrom\s*(['"])([^'"]+)\3/g,
  )) {
    add(m, m[4], Boolean(m[1]) || isTypeOnlyClause(m[2]));
  }
  // import 'm' (side effects only)
  for (const m of text.matchAll(/\bimport\s*(['"])([^'"]+)\1/g)) add(m, m[2], false);
  // export { a } from 'm'; export * from 'm'; export type { T } from 'm'
  for (const m of text.matchAll(
    /\bexport\s+(type\s+)?([^;'"`()]*?)\s*\bfrom\s*(['"])([^'"]+)\3/g,
  )) {
    add(m, m[4], Boolean(m[1]) || isTypeOnlyClause(m[2]));
  }
  // import('m'), require('m')
  for (const m of text.matchAll(/(?<![.\w$])(?:import|require)\s*\(\s*(['"])([^'"]+)\1\s*\)/g))
    add(m, m[2], false);

  return found.sort((a, b) => a.line - b.line);
}
