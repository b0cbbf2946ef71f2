/**
 * The declared signature of an exported function, read from its source with the TypeScript
 * parser (the type annotations as written): the expectation the API pages are checked against,
 * independent of TypeDoc.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

export interface DeclaredSignature {
  params: { name: string; type: string; optional: boolean }[];
  returns: string;
}

export function declaredSignature(file: string, name: string): DeclaredSignature {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const fn = source.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name);
  if (!fn) throw new Error(`no function ${name} in ${file}`);
  return {
    params: fn.parameters.map((p) => ({
      name: p.name.getText(source),
      type: p.type ? p.type.getText(source) : 'unknown',
      optional: Boolean(p.questionToken || p.initializer),
    })),
    returns: fn.type ? fn.type.getText(source) : 'void',
  };
}
