import {NcxError} from '../errors.js'

/** Docker Compose exits 15 when the project cannot be loaded (ComposeParseFailure). */
export const COMPOSE_PARSE_FAILURE = 15

/** A path into a compose model: `services.web.ports[1]`. */
export type ModelPath = ReadonlyArray<string | number>

export function formatPath(path: ModelPath): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out === '' ? p : `.${p}`
  }
  return out
}

/** A compose file that cannot be loaded: names the file, the path in it and, where known, the line. */
export class ComposeError extends NcxError {
  readonly file?: string
  readonly path?: string
  readonly line?: number

  constructor(message: string, where: {file?: string; path?: ModelPath; line?: number; hint?: string; exitCode?: number} = {}) {
    const path = where.path && where.path.length > 0 ? formatPath(where.path) : undefined
    const loc = where.file ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : ''
    super(`${loc}${path ? `${path}: ` : ''}${message}`, {exitCode: where.exitCode ?? COMPOSE_PARSE_FAILURE, hint: where.hint})
    this.name = 'ComposeError'
    this.file = where.file
    this.path = path
    this.line = where.line
  }
}
