// The import rules of src/ (docs/architecture.md): commands → cli → engine → native, and no cycles.
// Checked by test/unit/dependencies.test.ts on the TypeScript sources compiled one file at a time
// (dependency-cruiser reads JavaScript; its TypeScript reader does not support TypeScript 7), so
// type-only imports, which vanish at run time, are not counted.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {name: 'no-circular', severity: 'error', comment: 'Move the shared piece to the module that owns it.', from: {}, to: {circular: true}},
    {name: 'engine-not-up', severity: 'error', comment: 'The engine never prints or parses flags: it does not import cli or commands.', from: {path: '^src/engine/'}, to: {path: '^src/(cli|commands)/'}},
    {name: 'native-is-a-leaf', severity: 'error', comment: 'The native binding knows nothing of the engine or the CLI.', from: {path: '^src/native/'}, to: {path: '^src/(engine|cli|commands)/'}},
    {name: 'cli-not-commands', severity: 'error', comment: 'Commands use the cli helpers, not the other way round.', from: {path: '^src/cli/'}, to: {path: '^src/commands/'}},
  ],
  options: {doNotFollow: {path: 'node_modules'}, exclude: {path: 'node_modules'}},
}
