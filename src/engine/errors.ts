/**
 * Errors the engine raises. Each carries the Docker-compatible exit code the CLI uses
 * (125 engine, 126 cannot invoke, 127 not found) and, where there is one, the fix.
 */
export class NcxError extends Error {
  readonly exitCode: number
  readonly hint?: string

  constructor(message: string, options: {exitCode?: number; hint?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'NcxError'
    this.exitCode = options.exitCode ?? 125
    this.hint = options.hint
  }
}

/** A named thing (image, container…) does not exist. */
export class NotFoundError extends NcxError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: 1, hint})
    this.name = 'NotFoundError'
  }
}

/** Bad user input: flags, references, files. */
export class UsageError extends NcxError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: 125, hint})
    this.name = 'UsageError'
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Go's text of a failed file operation (`open /x: no such file or directory`), as Docker prints it. */
export function goPathError(op: string, path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const text: Record<string, string> = {ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory', ELOOP: 'too many levels of symbolic links'}
  return `${op} ${path}: ${(code && text[code]) ?? errorMessage(err)}`
}
