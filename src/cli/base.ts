import {Command, Flags, Interfaces} from '@oclif/core'

import {Engine} from '../engine/engine.js'
import {renderError} from './errors.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every ncx command: global flags, one engine per invocation, and errors mapped to one
 * clear line plus Docker's exit codes. Subclasses parse, call the engine once, render.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    root: Flags.string({description: 'Directory for images and containers', env: 'NCX_ROOT', aliases: ['data-root'], helpGroup: 'GLOBAL'}),
    debug: Flags.boolean({description: 'Print stack traces on errors', helpGroup: 'GLOBAL'}),
  }

  /** Commands whose argv tail belongs to the container parse argv themselves. */
  static parsesOwnArgv = false

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional, for commands taking a variable number (`rmi A B C`). */
  protected positionals: string[] = []
  // (NCX_DEBUG=1: `ncx --debug COMMAND`, see bin/run.cjs)
  private debugOn = process.argv.includes('--debug') || process.env.NCX_DEBUG === '1'
  private cachedEngine?: Engine

  protected engine(): Engine {
    this.cachedEngine ??= new Engine({dataRoot: this.flags.root, onWarning: (m) => this.warnLine(m)})
    return this.cachedEngine
  }

  /** Docker prints warnings as `WARNING: …` on stderr. */
  protected warnLine(message: string): void {
    process.stderr.write(`WARNING: ${message}\n`)
  }

  override async init(): Promise<void> {
    await super.init()
    const ctor = this.ctor as typeof BaseCommand
    if (ctor.parsesOwnArgv) return
    const {flags, args, argv} = await this.parse({flags: ctor.flags, baseFlags: ctor.baseFlags, args: ctor.args, strict: ctor.strict})
    this.positionals = argv as string[]
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.debugOn = Boolean(this.flags.debug) || process.env.NCX_DEBUG === '1'
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err.oclif?.exit !== undefined && err.constructor.name === 'ExitError') throw err
    const {text, exitCode} = renderError(err, this.debugOn)
    process.stderr.write(text + '\n')
    return this.exit(exitCode)
  }
}
