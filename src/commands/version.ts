import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {compileTemplate} from '../cli/template.js'
import {storePaths} from '../engine/store/paths.js'
import {versionInfo} from '../engine/version.js'

export default class Version extends BaseCommand<typeof Version> {
  static summary = 'Show the ncx version information'
  static description = 'Client: the CLI and Node.js; Engine: ncx, its Rust core and runtime, and the OCI runtime-spec version of the bundles it writes.'
  static aliases = ['system:version']
  static examples = ['ncx version', "ncx version --format '{{.Server.Version}}'", 'ncx version --format json']
  static flags = {
    format: Flags.string({char: 'f', description: "Format output: 'json' or a Go template such as '{{.Client.Version}}'", helpGroup: 'OUTPUT'}),
  }

  async run(): Promise<void> {
    const v = versionInfo(this.config.version, storePaths({dataRoot: this.flags.root}).rootless)
    const {format} = this.flags
    if (format === 'json') return this.log(JSON.stringify(v))
    if (format) return this.log(compileTemplate(format).render(v))
    const c = v.Client
    const s = v.Server
    this.log(
      [
        'Client:',
        ` Version:           ${c.Version}`,
        ` Node.js version:   ${c.NodeVersion}`,
        ` OS/Arch:           ${c.Os}/${c.Arch}`,
        ` Context:           ${c.Context}`,
        '',
        'Server: ncx Engine (in-process, no daemon)',
        ' Engine:',
        `  Version:          ${s.Version}`,
        `  Rust core:        ${s.RustCoreVersion}`,
        `  OS/Arch:          ${s.Os}/${s.Arch}`,
        `  Kernel Version:   ${s.KernelVersion}`,
        ` ${s.Runtime.Name}:`,
        `  Version:          ${s.Runtime.Version}`,
        `  Path:             ${s.Runtime.Path}`,
        `  OCI runtime-spec: ${s.OciRuntimeSpecVersion}`,
      ].join('\n'),
    )
  }
}
