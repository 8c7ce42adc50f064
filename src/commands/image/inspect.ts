import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {compileTemplate} from '../../cli/template.js'
import {imageTemplateData} from '../../cli/inspect.js'
import {NcxError} from '../../engine/errors.js'
import {ImageInspect, inspectImage} from '../../engine/image/inspect.js'

export default class ImageInspectCommand extends BaseCommand<typeof ImageInspectCommand> {
  static summary = 'Display detailed information on one or more images'
  static strict = false
  static args = {image: Args.string({description: 'Image name or ID (one or more)', required: true})}
  static flags = {
    format: Flags.string({char: 'f', description: "Format output using a Go template, or 'json'"}),
  }

  async run(): Promise<void> {
    const engine = this.engine()
    const docs: ImageInspect[] = []
    const errors: string[] = []
    for (const name of this.positionals) {
      try {
        docs.push(inspectImage(engine, engine.images.resolve(name)))
      } catch (error) {
        if (!(error instanceof NcxError)) throw error
        errors.push(error.message)
      }
    }
    const {format} = this.flags
    if (format === undefined || format === '' || format === 'json') {
      // Docker's daemon encodes with Go's HTML-safe escaping, which its CLI keeps when indenting.
      const goJson = JSON.stringify(docs, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      process.stdout.write(goJson + '\n')
    } else {
      const tpl = compileTemplate(format)
      process.stdout.write(docs.map((d) => tpl.render(imageTemplateData(d)) + '\n').join(''))
    }
    if (errors.length > 0) {
      for (const e of errors) process.stderr.write(`ncx: ${e}\n`)
      this.exit(1)
    }
  }
}
