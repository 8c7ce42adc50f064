import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {SHELLS, Shell, completionScript} from '../cli/completion-scripts.js'

export default class Completion extends BaseCommand<typeof Completion> {
  static summary = 'Print the shell completion script for bash, zsh or fish'
  static description =
    'Completes commands, flags, fixed flag values and names from the store (running containers for stop/exec/logs, stopped ones for start, images, networks, volumes, compose services). The script asks `ncx __complete`, which answers from the store files without starting any namespace.'
  static args = {shell: Args.string({description: 'Shell to generate the script for', required: true, options: [...SHELLS]})}
  static examples = [
    '# bash (current shell, then permanently)\nsource <(ncx completion bash)\nncx completion bash > ~/.local/share/bash-completion/completions/ncx',
    '# zsh (after compinit)\nsource <(ncx completion zsh)',
    '# fish\nncx completion fish > ~/.config/fish/completions/ncx.fish',
  ]

  async run(): Promise<void> {
    process.stdout.write(completionScript(this.args.shell as Shell))
  }
}
