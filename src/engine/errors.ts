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
