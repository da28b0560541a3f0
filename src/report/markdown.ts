/**
 * Markdown that cannot be broken by what it quotes. The summary is meant for pull-request comments,
 * and it quotes text from result files (generator ids, commands, reasons) and the user (--title):
 * none of it may open an HTML tag, close a table cell, end a code span or start a list.
 */

/** Text in a paragraph or a table cell: HTML special characters as entities, Markdown punctuation escaped, one line. */
export function mdText(s: string): string {
  return String(s)
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/^(\s*)([#+-])/, '$1\\$2')
    .replace(/^(\s*)(\d+)([.)])/, '$1$2\\$3');
}

/**
 * A code span holding `s` literally: fenced by one more backtick than its longest run of them
 * (padded when it starts or ends with one), on one line; in a table cell its pipes are escaped,
 * as GitHub requires even inside code.
 */
export function mdCode(s: string, inTable = false): string {
  const one = String(s).replace(/\r?\n|\r/g, ' ');
  const longest = Math.max(0, ...[...one.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = one.startsWith('`') || one.endsWith('`') ? ' ' : '';
  const body = inTable ? one.replace(/\|/g, '\\|') : one;
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A table row of cells already made safe (mdText / mdCode(…, true)). */
export const mdRow = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

/**
 * `s` with every absolute path cut to `…/` and its last segment: the summary is read in a pull
 * request, where the machine's folders mean nothing and the file's name still says where to look.
 */
export function withoutLocalPaths(s: string): string {
  return String(s)
    .replace(/(^|[\s(['"`=])\/(?:[^\s'"`()[\],;]+\/)*([^\s'"`()[\],;/]+)/g, '$1…/$2')
    .replace(/(^|[\s(['"`=])[A-Za-z]:\\(?:[^\s'"`()[\],;\\]+\\)*([^\s'"`()[\],;\\]+)/g, '$1…\\$2');
}
