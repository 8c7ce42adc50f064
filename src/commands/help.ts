import {Command, loadHelpClass, toStandardizedId} from '@oclif/core'

import {renderError} from '../cli/errors.js'
import {NcxError} from '../engine/errors.js'

/** `ncx help [COMMAND]`: the same help as `ncx COMMAND --help` (docker/cli cli/cobra.go helpCommand). */
export default class Help extends Command {
  static summary = 'Help about the command'
  static strict = false
  static hidden = true

  async run(): Promise<void> {
    const words = this.argv.filter((a) => !a.startsWith('-'))
    const id = toStandardizedId(words.join(' '), this.config)
    if (words.length > 0 && !this.config.findCommand(id) && !this.config.findTopic(id)) {
      // Docker: `unknown help topic: bogus`, exit 1.
      const {text, exitCode} = renderError(new NcxError(`unknown help topic: ${words.join(' ')}`), false, {command: 'help'})
      process.stderr.write(text.replace(/^ncx: /, '') + '\n')
      this.exit(exitCode)
    }
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions ?? {}).showHelp(words)
  }
}
