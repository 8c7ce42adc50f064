import {Flags} from '@oclif/core'

import {ComposeCommand} from '../../cli/compose.js'
import {canonicalModel, renderModel} from '../../engine/compose/canonical.js'
import {Project} from '../../engine/compose/types.js'
import {NcxError} from '../../engine/errors.js'
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
    format: Flags.string({description: 'Format the output', options: ['yaml', 'json'], default: 'yaml'}),
    quiet: Flags.boolean({char: 'q', description: 'Only validate the configuration, don\'t print anything'}),
    output: Flags.string({char: 'o', description: 'Save to file (default to stdout)'}),
    'no-interpolate': Flags.boolean({description: "Don't interpolate environment variables"}),
    'resolve-image-digests': Flags.boolean({description: 'Pin image tags to digests (of the local images; missing ones are pulled)'}),
  }

  async run(): Promise<void> {
    const f = this.flags
    const project = this.project(undefined, f['no-interpolate'] ? {interpolate: false} : {})
    if (f['resolve-image-digests']) await this.pinImages(project)
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
    const text = renderModel(model, f.format as 'yaml' | 'json', !f['no-interpolate'])
    if (f.output) {
      const {writeFileSync} = await import('node:fs')
      writeFileSync(f.output, text)
    } else process.stdout.write(text)
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
