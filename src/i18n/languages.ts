/**
 * The message catalogs: the 22 languages of Pure-FTPd's builds (its `--with-language` names, plus
 * Albanian, which its tree also carries), chosen at run time (`--language`, `Language` in the conf
 * file) and per session with `LANG` (RFC 2640 §4). Tags are BCP 47; "funny" French is a private-use
 * variant of French. Catalogs are our own translations of the English texts (src/i18n/catalogs/).
 */
import type { Catalog } from './msg.js';
import ca from './catalogs/ca.js';
import cs from './catalogs/cs.js';
import da from './catalogs/da.js';
import de from './catalogs/de.js';
import es from './catalogs/es.js';
import fr from './catalogs/fr.js';
import frFunny from './catalogs/fr-x-funny.js';
import hu from './catalogs/hu.js';
import it from './catalogs/it.js';
import ko from './catalogs/ko.js';
import nl from './catalogs/nl.js';
import no from './catalogs/no.js';
import pl from './catalogs/pl.js';
import ptBR from './catalogs/pt-BR.js';
import ro from './catalogs/ro.js';
import ru from './catalogs/ru.js';
import sk from './catalogs/sk.js';
import sq from './catalogs/sq.js';
import sv from './catalogs/sv.js';
import turkish from './catalogs/tr.js';
import zhCN from './catalogs/zh-CN.js';
import zhTW from './catalogs/zh-TW.js';

/** One language: its tag, Pure-FTPd's configure name, its own name, and its texts. */
export interface Language {
  /** The BCP 47 tag (what LANG takes and FEAT lists). */
  readonly tag: string;
  /** Pure-FTPd's `--with-language=` name (also accepted by `--language`). */
  readonly name: string;
  /** The language's name in itself (LANG's reply). */
  readonly native: string;
  /** Translations by English key; English has none. */
  readonly catalog: Catalog | undefined;
}

function lang(tag: string, name: string, native: string, texts?: Readonly<Record<string, string>>): Language {
  return { tag, name, native, catalog: texts === undefined ? undefined : new Map(Object.entries(texts)) };
}

/** Every language, English first (FEAT's order). */
export const LANGUAGES: readonly Language[] = [
  lang('en', 'english', 'English'),
  lang('de', 'german', 'Deutsch', de),
  lang('ro', 'romanian', 'Română', ro),
  lang('fr', 'french', 'Français', fr),
  lang('fr-x-funny', 'french-funny', 'Français (version rigolote)', frFunny),
  lang('pl', 'polish', 'Polski', pl),
  lang('es', 'spanish', 'Español', es),
  lang('da', 'danish', 'Dansk', da),
  lang('nl', 'dutch', 'Nederlands', nl),
  lang('it', 'italian', 'Italiano', it),
  lang('pt-BR', 'brazilian-portuguese', 'Português (Brasil)', ptBR),
  lang('sk', 'slovak', 'Slovenčina', sk),
  lang('ko', 'korean', '한국어', ko),
  lang('sv', 'swedish', 'Svenska', sv),
  lang('no', 'norwegian', 'Norsk', no),
  lang('ru', 'russian', 'Русский', ru),
  lang('zh-TW', 'traditional-chinese', '繁體中文', zhTW),
  lang('zh-CN', 'simplified-chinese', '简体中文', zhCN),
  lang('cs', 'czech', 'Čeština', cs),
  lang('tr', 'turkish', 'Türkçe', turkish),
  lang('hu', 'hungarian', 'Magyar', hu),
  lang('ca', 'catalan', 'Català', ca),
  lang('sq', 'albanian', 'Shqip', sq),
];

/** English, the default. */
export const ENGLISH = LANGUAGES[0];

/** The server's language (--language), English when unset or unknown. */
export function languageOf(config: { readonly language?: string }): Language {
  return (config.language !== undefined ? findLanguage(config.language) : undefined) ?? ENGLISH;
}

/** Other spellings clients and admins use for the same languages. */
const ALIASES: Readonly<Record<string, string>> = {
  'en-us': 'en',
  'en-gb': 'en',
  pt: 'pt-BR',
  nb: 'no',
  nn: 'no',
  zh: 'zh-CN',
  'zh-hans': 'zh-CN',
  'zh-sg': 'zh-CN',
  'zh-hant': 'zh-TW',
  'zh-hk': 'zh-TW',
  'fr-funny': 'fr-x-funny',
};

const byKey = new Map<string, Language>();
for (const l of LANGUAGES) {
  byKey.set(l.tag.toLowerCase(), l);
  byKey.set(l.name, l);
}

/**
 * The language a tag or a Pure-FTPd name names, or undefined: exact (any case), then a known alias,
 * then the primary subtag (`de-AT` → German, RFC 4647 lookup), then `zh-Hant-TW` style scripts.
 */
export function findLanguage(wanted: string): Language | undefined {
  const w = wanted.trim().toLowerCase().replace(/_/g, '-');
  if (w === '' || w.length > 64 || !/^[a-z0-9-]+$/.test(w)) return undefined;
  const direct = byKey.get(w) ?? byKey.get(ALIASES[w]?.toLowerCase() ?? '');
  if (direct !== undefined) return direct;
  const parts = w.split('-');
  for (let n = parts.length - 1; n >= 1; n--) {
    const prefix = parts.slice(0, n).join('-');
    const hit = byKey.get(prefix) ?? byKey.get(ALIASES[prefix]?.toLowerCase() ?? '');
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The FEAT line (RFC 2640 §4.3): every tag, the session's marked with `*`. */
export function featLangLine(current: Language): string {
  return `LANG ${LANGUAGES.map((l) => (l === current ? `${l.tag}*` : l.tag)).join(';')}`;
}
