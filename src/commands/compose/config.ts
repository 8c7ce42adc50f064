import {Flags} from '@oclif/core'
import {stringify} from 'yaml'

import {ComposeCommand} from '../../cli/compose.js'
import {Column, renderTable} from '../../cli/output.js'
import {canonicalModel, renderModel} from '../../engine/compose/canonical.js'
import {Project} from '../../engine/compose/types.js'
import {serviceHashes} from '../../engine/compose/containers.js'
import {ComposeVariable, collectVariables} from '../../engine/compose/interpolate.js'
import {NcxError, UsageError} from '../../engine/errors.js'
import {formatReference, parseReference} from '../../engine/image/reference.js'
import {ensureImage} from '../../cli/pull-policy.js'

export default class Config extends ComposeCommand<typeof Config> {
  static summary = 'Parse, resolve and render the compose file in canonical format'
  static strict = false
  static flags = {
    services: Flags.boolean({description: 'Print the service names, one per line'}),
    volumes: Flags.boolean({description: 'Print the volume names, one per line'}),
    profiles: Flags.boolean({description: 'Print the profile names, one per line'}),
    images: Flags.boolean({description: 'Print the image names, one per line'}),
    networks: Flags.boolean({description: 'Print the network names, one per line'}),
    hash: Flags.string({description: 'Print the service config hash, one per line ("*" for every service, or a,b)'}),
    variables: Flags.boolean({description: 'Print model variables and default values'}),
    environment: Flags.boolean({description: 'Print environment used for interpolation'}),
    format: Flags.string({description: 'Format the output: yaml (default) or json; --variables also table (its default)', options: ['yaml', 'json', 'table']}),
    quiet: Flags.boolean({char: 'q', description: 'Only validate the configuration, don\'t print anything'}),
    output: Flags.string({char: 'o', description: 'Save to file (default to stdout)'}),
    'no-interpolate': Flags.boolean({description: "Don't interpolate environment variables"}),
    'no-env-resolution': Flags.boolean({description: "Don't resolve service env files"}),
    'no-consistency': Flags.boolean({description: "Don't check model consistency - warning: may produce invalid Compose output"}),
    'resolve-image-digests': Flags.boolean({description: 'Pin image tags to digests (of the local images; missing ones are pulled)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const lines = (list: string[]): void => {
      process.stdout.write(list.map((l) => l + '\n').join(''))
    }
    if (f.variables) return this.printVariables(f.format ?? 'table', f.quiet)
    const project = this.project(undefined, {
      ...(f['no-interpolate'] ? {interpolate: false} : {}),
      ...(f['no-env-resolution'] ? {resolveEnvironment: false} : {}),
      ...(f['no-consistency'] ? {consistency: false} : {}),
    })
    if (f['resolve-image-digests']) await this.pinImages(project)
    if (f.quiet) return
    if (f.hash !== undefined) return lines(serviceHashes(project, f.hash))
    if (f.environment) return lines(Object.keys(project.environment).sort().map((k) => `${k}=${project.environment[k]}`))
    if (f.format === 'table') throw new UsageError('unsupported format "table"', 'config prints the model as yaml or json; table is for --variables')
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
    const text = renderModel(model, (f.format ?? 'yaml') as 'yaml' | 'json', !f['no-interpolate'])
    if (f.output) {
      const [{writeFileWithMode}, {callersUmaskValue}] = await Promise.all([import('../../engine/store/files.js'), import('../../engine/store/private.js')])
      writeFileWithMode(f.output, text, 0o666 & ~callersUmaskValue()) // the user's file: the user's umask
    } else process.stdout.write(text)
  }

  /** `--variables`: every variable the files refer to (read without interpolating), as compose-go lists them. */
  private printVariables(format: string, quiet: boolean): void {
    const model = canonicalModel(this.project(undefined, {interpolate: false, resolveEnvironment: false}))
    const found = collectVariables(model)
    const names = [...found.keys()].sort()
    if (quiet) return
    if (format === 'json') {
      process.stdout.write(JSON.stringify(Object.fromEntries(names.map((n) => [n, found.get(n)]))) + '\n')
      return
    }
    if (format === 'yaml') {
      const lower = (v: ComposeVariable) => ({name: v.Name, defaultvalue: v.DefaultValue, presencevalue: v.PresenceValue, required: v.Required})
      process.stdout.write(names.length === 0 ? '{}\n' : stringify(Object.fromEntries(names.map((n) => [n, lower(found.get(n)!)]))))
      return
    }
    const columns: Array<Column<ComposeVariable>> = [
      {header: 'NAME', value: (v) => v.Name},
      {header: 'REQUIRED', value: (v) => String(v.Required)},
      {header: 'DEFAULT VALUE', value: (v) => v.DefaultValue},
      {header: 'ALTERNATE VALUE', value: (v) => v.PresenceValue},
    ]
    process.stdout.write(renderTable(names.map((n) => found.get(n)!), columns))
  }

  /** Each service's image as `NAME:TAG@DIGEST` (compose-go's form), pulling images not present. */
  private async pinImages(project: Project): Promise<void> {
    const engine = this.engine()
    const images = new Set(Object.values(project.services).flatMap((s) => (s.image ? [s.image] : [])))
    const pinned = new Map<string, string>()
    for (const image of images) {
      if (!engine.images.find(image)) await ensureImage(engine, image, 'missing', (line) => process.stderr.write(line))
      const local = engine.images.find(image)
      if (!local) throw new NcxError(`image ${image} for --resolve-image-digests is not present and could not be pulled`)
      // compose-go keeps the tag: docker.io/library/busybox:latest@sha256:…
      pinned.set(image, formatReference({...parseReference(image), digest: local.manifestDigest}))
    }
    for (const svc of Object.values(project.services)) if (svc.image) svc.image = pinned.get(svc.image)
  }
}
