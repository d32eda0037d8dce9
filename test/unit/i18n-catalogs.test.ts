/**
 * The message catalogs (issue 14, Languages): every catalog has exactly the keys the code uses
 * (each tr`...` template in src/, found by scripts/i18n-keys.mjs with the TypeScript parser), no
 * placeholder is lost or invented, and no translation can break a reply line. Plus the pieces:
 * rendering, language lookup, FEAT's LANG line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, featLangLine, findLanguage, ENGLISH, languageOf } from '../../src/i18n/languages.js';
import { Msg, revive, tr } from '../../src/i18n/msg.js';
import { formatReply, reply } from '../../src/session/reply.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/i18n-keys.mjs', import.meta.url));
const { collectKeys } = (await import(SCRIPT)) as { collectKeys: () => Map<string, string> };
const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const keys = collectKeys.call(undefined);

const placeholders = (text: string): string => (text.match(/\{\d+\}/g) ?? []).sort().join(',');

describe('message catalogs', () => {
  it('the code has translatable texts, found in the sources', () => {
    assert.ok(keys.size > 150, `${keys.size} keys under ${SRC}`);
    assert.ok(keys.has("Can't change directory to {0}: {1}"));
    assert.ok(keys.has('Responses changed to {0}'));
  });

  it('23 languages: the 22 of the issue (Catalan included) and Albanian, English first', () => {
    assert.equal(LANGUAGES.length, 23);
    assert.equal(LANGUAGES[0], ENGLISH);
    assert.equal(new Set(LANGUAGES.map((l) => l.tag)).size, 23);
  });

  for (const lang of LANGUAGES.slice(1)) {
    it(`${lang.tag} (${lang.name}): every key, no other, every placeholder kept, one clean line each`, () => {
      const catalog = lang.catalog!;
      const missing = [...keys.keys()].filter((k) => !catalog.has(k));
      assert.deepEqual(missing, [], `missing in ${lang.tag}`);
      const extra = [...catalog.keys()].filter((k) => !keys.has(k));
      assert.deepEqual(extra, [], `keys no code uses in ${lang.tag}`);
      for (const [key, text] of catalog) {
        assert.equal(placeholders(text), placeholders(key), `${lang.tag}: ${key} -> ${text}`);
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(text, /[\x00-\x1f\x7f]/, `${lang.tag}: control character in ${key}`);
        assert.notEqual(text.trim(), '', `${lang.tag}: empty translation of ${key}`);
      }
      // 257 replies: clients take the path from the first quoted string, so it stays first.
      for (const key of ['{0} is your current location', '{0} : The directory was successfully created'])
        assert.ok(catalog.get(key)!.startsWith('{0}'), `${lang.tag}: ${catalog.get(key)}`);
      // Translated, not copied: most texts differ from English (some words are the same everywhere).
      const same = [...catalog].filter(
        ([k, v]) => k === v && /[a-z]{4}/.test(k.replace(/\{\d\}/g, '')),
      ).length;
      assert.ok(same < catalog.size * 0.15, `${lang.tag}: ${same} of ${catalog.size} texts left in English`);
    });
  }
});

describe('translatable texts', () => {
  it('render in a language, values in place (reordered when the translation wants)', () => {
    const file = 'a.txt';
    const m = tr`Can't open ${file}: ${tr`Permission denied`}`;
    assert.equal(String(m), "Can't open a.txt: Permission denied");
    const catalog = new Map([
      ["Can't open {0}: {1}", '{1} – {0} lässt sich nicht öffnen'],
      ['Permission denied', 'Keine Berechtigung'],
    ]);
    assert.equal(m.render(catalog), 'Keine Berechtigung – a.txt lässt sich nicht öffnen');
    // A value is never read as a placeholder, and a missing key falls back to English.
    assert.equal(tr`Deleted ${'{0}{1}'}`.render(catalog), 'Deleted {0}{1}');
  });

  it('cross processes as plain data and come back translatable', () => {
    const n = 3;
    const m = tr`Restart offset ${n} is too large for file size ${tr`Not a directory`}.`;
    const back = revive(JSON.parse(JSON.stringify(m)));
    assert.ok(back instanceof Msg);
    assert.equal(String(back), String(m));
    assert.equal(revive('plain'), 'plain');
  });

  it('a translation cannot inject a reply line: control characters are scrubbed', () => {
    const evil = new Map([['Deleted {0}', 'Gelöscht {0}\r\n230 fake']]);
    assert.equal(formatReply(reply(250, tr`Deleted ${'x'}`), evil), '250 Gelöscht x__230 fake\r\n');
  });
});

describe('language lookup', () => {
  it('tags, Pure-FTPd names, regional variants and aliases', () => {
    assert.equal(findLanguage('de')?.tag, 'de');
    assert.equal(findLanguage('DE')?.tag, 'de');
    assert.equal(findLanguage('german')?.tag, 'de');
    assert.equal(findLanguage('de-AT')?.tag, 'de');
    assert.equal(findLanguage('de_CH')?.tag, 'de');
    assert.equal(findLanguage('french-funny')?.tag, 'fr-x-funny');
    assert.equal(findLanguage('fr-x-funny')?.tag, 'fr-x-funny');
    assert.equal(findLanguage('fr-CA')?.tag, 'fr');
    assert.equal(findLanguage('pt')?.tag, 'pt-BR');
    assert.equal(findLanguage('zh-Hant-TW')?.tag, 'zh-TW');
    assert.equal(findLanguage('zh')?.tag, 'zh-CN');
    assert.equal(findLanguage('nb')?.tag, 'no');
    assert.equal(findLanguage('brazilian-portuguese')?.tag, 'pt-BR');
    assert.equal(findLanguage('xx'), undefined);
    assert.equal(findLanguage(''), undefined);
    assert.equal(findLanguage('de;rm -rf'), undefined);
    assert.equal(findLanguage('a'.repeat(100)), undefined);
    assert.equal(languageOf({}).tag, 'en');
    assert.equal(languageOf({ language: 'ru' }).tag, 'ru');
  });

  it("FEAT's LANG line lists every tag and marks the session's (RFC 2640 §4.3)", () => {
    const line = featLangLine(findLanguage('fr')!);
    assert.match(line, /^LANG en;de;ro;fr\*;fr-x-funny;/);
    assert.equal(line.split(';').length, 23);
    assert.equal((line.match(/\*/g) ?? []).length, 1);
  });
});
