import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {BUILD_FLAGS, executeBuild} from '../../cli/build-flags.js'
import {oclifFlags} from '../run.js'

export {parseBuildArgs, parseSecret, parseSsh} from '../../cli/build-flags.js'

export default class Build extends BaseCommand<typeof Build> {
  static summary = 'Build an image from a Dockerfile'
  static description =
    "Builds rootless on the ncx engine with ncx's own Dockerfile frontend (BuildKit's syntax and semantics): stages the target needs build in parallel, every step is cached by its inputs. PATH is a directory, or - for a tar archive (or a Dockerfile) on stdin. See docs/build.md."
  static usage = 'build [OPTIONS] PATH | -'
  static aliases = ['build', 'buildx:build', 'builder:build']
  static strict = false
  static parsesOwnArgv = true
  static args = {context: Args.string({description: 'PATH | -', required: true})}
  static flags = oclifFlags(BUILD_FLAGS)
  static examples = [
    'ncx build -t app:dev .',
    'ncx build -t app -f docker/Dockerfile.prod --target runtime --build-arg NODE_ENV=production .',
    "echo 'FROM busybox' | ncx build -t tiny -",
    'ncx build -o type=local,dest=out .',
    'ncx build --secret id=npmrc,src=$HOME/.npmrc -t app .',
  ]

  async run(): Promise<void> {
    const code = await executeBuild(this.argv, (m) => this.warnLine(m))
    if (code !== 0) this.exit(code)
  }
}
