/**
 * Which command a command line names, decided as oclif decides it (its `normalizeArgv` with
 * the space topic separator: help/util.ts collateSpacedCmdIDFromArgs), from a table the build
 * writes from the oclif manifest (dist/lite/routes.cjs, see scripts/build-fast.cjs). bin/run.cjs
 * asks before it loads anything: a command with a lite bundle runs from it (lite.ts), every
 * other command line (help, a topic, an unknown word, a command without a bundle) goes to oclif.
 */

/** Every command id and alias (`container:ls`, `ps`): [its command's id, takes arguments, its lite bundle]. */
export type RouteTable = Record<string, readonly [id: string, hasArgs: boolean, bundle: string | null]>

export interface LiteRoute {
  /** The command's own id (`container:ls` for `ps`), as oclif sets it on the class. */
  id: string
  /** The lite bundle holding it (dist/lite/NAME.cjs). */
  bundle: string
  /** The arguments after the command's words. */
  argv: string[]
}

/** The ids usable as a prefix of a command line (every id and alias, and each of their topics). */
export function usableIds(table: RouteTable): Set<string> {
  return new Set(Object.keys(table).flatMap((id) => id.split(':').map((_, i, a) => a.slice(0, i + 1).join(':'))))
}

/** oclif's reading of the command words of `argv` (undefined: argv[0] is the id as typed). */
export function commandId(argv: readonly string[], table: RouteTable, ids: Set<string> = usableIds(table)): string | undefined {
  if (argv.length === 1) return undefined
  const final: string[] = []
  const joined = (s?: string) => (s ? [...final, s] : final).filter(Boolean).join(':')
  const hasArgs = () => {
    const id = joined()
    return Boolean(id && table[id]?.[1])
  }
  for (const arg of argv) {
    if (ids.has(joined(arg))) final.push(arg)
    else if (arg.includes('=') || arg.startsWith('-') || hasArgs()) break
    else final.push(arg)
  }
  return joined() || undefined
}

/**
 * The lite route of a command line, or undefined for oclif: help anywhere (`--help`, `-h`),
 * `ncx container:ls` (oclif's own id syntax), and whatever names no command with a bundle.
 */
export function liteRoute(argv: readonly string[], table: RouteTable): LiteRoute | undefined {
  if (argv.length === 0 || argv[0].includes(':')) return undefined
  if (argv.some((a) => a === '--help' || a === '-h')) return undefined
  const typed = commandId(argv, table) ?? argv[0]
  const entry = table[typed]
  if (!entry || !entry[2]) return undefined
  return {id: entry[0], bundle: entry[2], argv: argv.slice(typed.split(':').length)}
}
