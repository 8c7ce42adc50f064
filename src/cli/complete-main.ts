/**
 * `ncx __complete WORD…`: the completion protocol's answerer (see complete.ts). bin/run.cjs
 * calls it from dist/complete-main.cjs (an esbuild bundle) so neither oclif nor the engine
 * is loaded: the command table comes from oclif.manifest.json, values from the store's files.
 */
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'

import {complete, formatCandidates, tableFromManifest} from './complete.js'
import {StoreCompletionSource} from './complete-store.js'
import {storePaths} from '../engine/store/paths.js'

/** `--root X` / `--root=X` / `--data-root …` among the words already typed. */
export function rootFromWords(words: string[]): string | undefined {
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i]
    if (w === '--') break
    const m = /^--(?:root|data-root)(?:=(.*))?$/.exec(w)
    if (m) return m[1] ?? (i + 1 < words.length - 1 ? words[i + 1] : undefined)
  }
  return undefined
}

/** Print the candidates for `words` (the last one is being typed); `packageDir` holds oclif.manifest.json. */
export function completeMain(words: string[], packageDir: string, out: (s: string) => void = (s) => process.stdout.write(s)): number {
  try {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'oclif.manifest.json'), 'utf8'))
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {oclif?: {topics?: Record<string, {description?: string}>}}
    const table = tableFromManifest(manifest, pkg.oclif?.topics)
    const req = createRequire(join(packageDir, 'package.json'))
    const parseYaml = (text: string) => (req('yaml') as {parse: (t: string) => unknown}).parse(text)
    const source = new StoreCompletionSource(storePaths({dataRoot: rootFromWords(words)}), process.cwd(), parseYaml)
    const result = complete(words.length === 0 ? [''] : words, table, source)
    if (result !== 'files') out(formatCandidates(result))
    return 0
  } catch (error) {
    // A completion must never spill an error into the user's command line.
    if (process.env.NCX_COMPLETE_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    return 0
  }
}
