/**
 * POSIX/GNU getopt(3) for the admin tools, so that `tsftpd pw` and `tsftpd quotacheck` accept
 * exactly what pure-pw and pure-quotacheck accept: clustered flags (`-mu 1000`), attached values
 * (`-u1000`), options after operands (GNU permutation), `--` ending the options, and an option's
 * value taken verbatim even when it starts with `-` or is empty (`-t ''` clears a setting).
 */

/** One parsed item, in command-line order. */
export type GetoptItem =
  { kind: 'option'; option: string; value?: string } | { kind: 'error'; message: string; option: string };

/** The options in order and the operands (non-option arguments) in order. */
export interface GetoptResult {
  items: GetoptItem[];
  operands: string[];
}

/**
 * Parses `args` against an optstring such as `"d:g:u:h"` (a letter followed by `:` takes a value).
 * Errors carry getopt's wording (`invalid option -- 'k'`, `option requires an argument -- 'u'`).
 */
export function getopt(args: readonly string[], optstring: string): GetoptResult {
  const takesValue = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const c = optstring[i];
    if (c === ':') continue;
    takesValue.set(c, optstring[i + 1] === ':');
  }
  const items: GetoptItem[] = [];
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j];
      const wants = takesValue.get(c);
      if (wants === undefined) {
        items.push({ kind: 'error', option: c, message: `invalid option -- '${c}'` });
        continue;
      }
      if (!wants) {
        items.push({ kind: 'option', option: c });
        continue;
      }
      if (j + 1 < arg.length) {
        items.push({ kind: 'option', option: c, value: arg.slice(j + 1) });
      } else if (i + 1 < args.length) {
        items.push({ kind: 'option', option: c, value: args[++i] });
      } else {
        items.push({ kind: 'error', option: c, message: `option requires an argument -- '${c}'` });
      }
      break;
    }
  }
  return { items, operands };
}
