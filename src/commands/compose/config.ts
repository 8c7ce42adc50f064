import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {canonicalModel, renderModel} from '../../engine/compose/canonical.js'

export default class Config extends ComposeCommand<typeof Config> {
  static summary = 'Parse, resolve and render the compose file in canonical format'
  static strict = false
  static flags = {
    services: Flags.boolean({description: 'Print the service names, one per line'}),
    volumes: Flags.boolean({description: 'Print the volume names, one per line'}),
    profiles: Flags.boolean({description: 'Print the profile names, one per line'}),
    images: Flags.boolean({description: 'Print the image names, one per line'}),
    networks: Flags.boolean({description: 'Print the network names, one per line'}),
    format: Flags.string({description: 'Format the output', options: ['yaml', 'json'], default: 'yaml'}),
    quiet: Flags.boolean({char: 'q', description: 'Only validate the configuration, don\'t print anything'}),
    output: Flags.string({char: 'o', description: 'Save to file (default to stdout)'}),
  }

  async run(): Promise<void> {
    const project = this.project()
    const f = this.flags
    if (f.quiet) return
    const lines = (list: string[]): void => {
      process.stdout.write(list.map((l) => l + "\n").join(""))
    }
    if (f.services) return lines(Object.keys(project.services))
    if (f.volumes) return lines(Object.keys(project.volumes))
    if (f.networks) return lines(Object.keys(project.networks))
    if (f.profiles) {
      const all = new Set<string>()
      for (const s of [...Object.values(project.services), ...Object.values(project.disabled)]) for (const p of s.profiles ?? []) all.add(p)
      return lines([...all].sort())
    }
    if (f.images) return lines(Object.entries(project.services).map(([n, s]) => s.image ?? `${project.name}-${n}`))
    let model = canonicalModel(project)
    if (this.positionals.length > 0) {
      const services = model.services as Record<string, unknown>
      model = {...model, services: Object.fromEntries(this.positionals.map((s) => [s, services[s]]).filter(([, v]) => v !== undefined))}
    }
    const text = renderModel(model, f.format as 'yaml' | 'json')
    if (f.output) {
      const {writeFileSync} = await import('node:fs')
      writeFileSync(f.output, text)
    } else process.stdout.write(text)
  }
}
