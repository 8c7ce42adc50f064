#!/usr/bin/env node
// ncx entry point. Hot paths skip loading oclif (which costs more than Node's own start):
// `--version`, and `run`/`container run` (which parse their own argv). Everything else,
// and any `--help`, goes through oclif with the generated oclif.manifest.json.
import {readFileSync} from 'node:fs'

const argv = process.argv.slice(2)
const first = argv[0]

if (first === '--version' || first === '-v') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`ncx/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else if ((first === 'run' || (first === 'container' && argv[1] === 'run')) && !argv.includes('--help')) {
  const {fastRun} = await import('../dist/src/cli/fast.js')
  process.exitCode = await fastRun(argv.slice(first === 'run' ? 1 : 2))
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
