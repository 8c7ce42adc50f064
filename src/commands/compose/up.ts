import {Flags} from '@oclif/core'

import {hostOptions} from '../../cli/compose-host.js'
import {ComposeCommand, progressPrinter, pullerFor, useColor} from '../../cli/compose.js'
import {builderFor} from '../../cli/compose-build.js'
import {UsageError} from '../../engine/errors.js'
import {up} from '../../engine/compose/up.js'
import {attachLogs} from '../../cli/compose-attach.js'

export function parseScale(list: string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of list ?? []) {
    const m = /^([^=]+)=(\d+)$/.exec(s)
    if (!m) throw new UsageError(`invalid --scale ${JSON.stringify(s)}`, 'use SERVICE=NUM')
    out[m[1]] = Number(m[2])
  }
  return out
}

export default class Up extends ComposeCommand<typeof Up> {
  static summary = 'Create and start containers'
  static strict = false
  static flags = {
    detach: Flags.boolean({char: 'd', description: 'Detached mode: Run containers in the background'}),
    'force-recreate': Flags.boolean({description: "Recreate containers even if their configuration and image haven't changed"}),
    'no-recreate': Flags.boolean({description: "If containers already exist, don't recreate them"}),
    'no-deps': Flags.boolean({description: "Don't start linked services"}),
    'no-start': Flags.boolean({description: "Don't start the services after creating them"}),
    build: Flags.boolean({description: 'Build images before starting containers'}),
    'no-build': Flags.boolean({description: "Don't build an image, even if it's policy"}),
    pull: Flags.string({description: 'Pull image before running', options: ['always', 'missing', 'never']}),
    'remove-orphans': Flags.boolean({description: "Remove containers for services not defined in the Compose file"}),
    scale: Flags.string({description: 'Scale SERVICE to NUM instances (SERVICE=NUM)', multiple: true}),
    wait: Flags.boolean({description: 'Wait for services to be running|healthy. Implies detached mode.'}),
    'wait-timeout': Flags.integer({description: 'Maximum duration in seconds to wait for the project to be running|healthy'}),
    timeout: Flags.integer({char: 't', description: 'Use this timeout in seconds for container shutdown'}),
    'abort-on-container-exit': Flags.boolean({description: 'Stops all containers if any container was stopped. Incompatible with -d'}),
    'exit-code-from': Flags.string({description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit'}),
    attach: Flags.string({description: 'Restrict attaching to the specified services', multiple: true}),
    'no-attach': Flags.string({description: 'Do not attach (stream logs) to the specified services', multiple: true}),
    'no-color': Flags.boolean({description: 'Produce monochrome output'}),
    'no-log-prefix': Flags.boolean({description: "Don't print prefix in logs"}),
    timestamps: Flags.boolean({description: 'Show timestamps'}),
    quiet: Flags.boolean({description: 'Do not print progress lines'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const detach = f.detach || f.wait
    const abort = f['abort-on-container-exit'] || f['exit-code-from'] !== undefined
    if (detach && abort) throw new UsageError('--abort-on-container-exit and --exit-code-from are incompatible with --detach')
    if (f['force-recreate'] && f['no-recreate']) throw new UsageError('--force-recreate and --no-recreate are incompatible')
    const project = this.project(this.positionals)
    const engine = this.engine()
    const emit = f.quiet ? () => {} : progressPrinter()
    const result = await up(engine, project, {
      services: this.positionals,
      noDeps: f['no-deps'],
      forceRecreate: f['force-recreate'],
      noRecreate: f['no-recreate'],
      noStart: f['no-start'],
      removeOrphans: f['remove-orphans'],
      scale: parseScale(f.scale),
      timeout: f.timeout,
      pull: f.pull as 'always' | 'missing' | 'never' | undefined,
      pullImage: pullerFor(engine),
      build: f.build,
      ...('no-build' in f ? {noBuild: (f as {'no-build'?: boolean})['no-build']} : {}),
      buildImage: builderFor(engine, (this.flags as unknown as {progress?: string}).progress ?? 'auto', ('quiet' in f && (f as {quiet?: boolean}).quiet) || false),
      wait: f.wait,
      waitTimeout: f['wait-timeout'],
      onEvent: emit,
      onWarning: (m) => this.warnLine(m),
      extraOptions: hostOptions,
    })
    if (detach || f['no-start']) return
    const code = await attachLogs(engine, project, result.containers, {
      attach: f.attach,
      noAttach: f['no-attach'],
      color: !f['no-color'] && useColor(process.stdout),
      prefix: !f['no-log-prefix'],
      timestamps: f.timestamps,
      abortOnExit: abort,
      exitCodeFrom: f['exit-code-from'],
      timeout: f.timeout,
      onEvent: emit,
    })
    if (code !== 0) this.exit(code)
  }
}
