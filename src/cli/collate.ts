/**
 * `localeCompare` without ICU for plain ASCII strings, shared by the command paths that start
 * oclif from a bundle (fast-command.ts) or skip it (lite.ts).
 */
/** Characters in the order ICU's root collation sorts them (punctuation, digits, letters). */
const COLLATION_ORDER = '_-:./0123456789abcdefghijklmnopqrstuvwxyz'
const RANK = new Map([...COLLATION_ORDER].map((c, i) => [c, i]))
const PLAIN = /^[_\-:./0-9a-zA-Z]*$/

/**
 * `a.localeCompare(b)`'s result for two strings of ASCII letters, digits and `_-:./` (command
 * ids, ISO timestamps, most names), without ICU: its first localeCompare builds a collator,
 * about a tenth of a `ps` (oclif sorts the manifest's commands with it on every call, `ps`
 * its rows by creation time). Among these characters the root collation has no contractions
 * and one primary weight each, a letter's the same in either case, and the primary weights
 * of the whole strings decide before any case difference does: where those differ, their
 * ranks give ICU's answer. Strings equal but for case, other characters, or a locale or
 * options go to ICU (undefined here). test/unit/fast-command.test.ts checks the two agree.
 */
export function plainLocaleCompare(a: string, b: string): number | undefined {
  if (a === b) return 0
  if (!PLAIN.test(a) || !PLAIN.test(b)) return undefined
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = RANK.get(a[i].toLowerCase())!
    const y = RANK.get(b[i].toLowerCase())!
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return undefined // equal but for case: ICU's tertiary level
}

/** Installs plainLocaleCompare as String.prototype.localeCompare's fast path (for this process). */
export function collateWithoutIcu(): void {
  const icu = String.prototype.localeCompare
  // eslint-disable-next-line no-extend-native
  String.prototype.localeCompare = function (this: string | String, that: string, ...rest: unknown[]): number {
    // (`this` is a String object unless the bundle runs in strict mode.)
    if (rest.length === 0 && typeof that === 'string' && (typeof this === 'string' || this instanceof String)) {
      const plain = plainLocaleCompare(String(this), that)
      if (plain !== undefined) return plain
    }
    return icu.call(this, that, ...(rest as [])) // (locales, options)
  } as typeof icu
}
