/**
 * Translatable texts. A reply's human text is written as a tagged template, tr`Can't open ${name}`,
 * whose static parts are its key in every catalog (`Can't open {0}`, gettext's model: the English
 * text is the key). Values keep their place as `{0}`, `{1}`... so a translation may reorder them;
 * a value that is itself a Msg (an errno text) is translated too, a string or a number is sent as
 * it is (file names are never translated). Rendering happens when the reply is formatted for one
 * session, in that session's language (`--language`, `LANG`); logs always render in English.
 */

/** A value inside a text: verbatim (a name, a number) or another translatable text. */
export type MsgArg = string | number | Msg;

/** One catalog: English key → translation, with the same `{n}` placeholders. */
export type Catalog = ReadonlyMap<string, string>;

const keys = new WeakMap<TemplateStringsArray, string>();

/** The key of a template: its static parts joined by `{0}`, `{1}`... */
function keyOf(strings: TemplateStringsArray): string {
  let key = keys.get(strings);
  if (key === undefined) {
    key = strings.reduce((acc, part, i) => (i === 0 ? part : `${acc}{${i - 1}}${part}`), '');
    keys.set(strings, key);
  }
  return key;
}

/** A translatable text: its key and the values for its placeholders. */
export class Msg {
  constructor(
    readonly key: string,
    readonly args: readonly MsgArg[] = [],
  ) {}

  /** The text in a catalog's language (English when the catalog lacks the key). */
  render(catalog?: Catalog): string {
    const template = catalog?.get(this.key) ?? this.key;
    if (this.args.length === 0) return template;
    return template.replace(/\{(\d+)\}/g, (whole, n: string) => {
      const v = this.args[Number(n)];
      if (v === undefined) return whole;
      return v instanceof Msg ? v.render(catalog) : String(v);
    });
  }

  /** English, for logs and anything that treats the text as a string. */
  toString(): string {
    return this.render();
  }

  /** The plain form sent between processes (see revive()). */
  toJSON(): { key: string; args: unknown[] } {
    return { key: this.key, args: this.args.map((a) => (a instanceof Msg ? a.toJSON() : a)) };
  }
}

/** The tag that marks a translatable text: tr`Can't open ${name}: ${errnoText(err)}`. */
export function tr(strings: TemplateStringsArray, ...args: MsgArg[]): Msg {
  return new Msg(keyOf(strings), args);
}

/** A text that is never translated (a protocol token, a banner file's line), as a Msg. */
export function verbatim(text: string): Msg {
  return new Msg('{0}', [text]);
}

/** A text from another process: a Msg's plain form becomes a Msg again; a string stays a string. */
export function revive(value: unknown): string | Msg {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'key' in value && typeof value.key === 'string') {
    const rawArgs = 'args' in value && Array.isArray(value.args) ? (value.args as unknown[]) : [];
    const args = rawArgs.slice(0, 16).map((a) => (typeof a === 'number' ? a : revive(a)));
    return new Msg(value.key, args);
  }
  return String(value);
}

/** A reply text: verbatim or translatable. */
export type Text = string | Msg;

/** Renders a text in a catalog's language. */
export function renderText(text: Text, catalog?: Catalog): string {
  return typeof text === 'string' ? text : text.render(catalog);
}
