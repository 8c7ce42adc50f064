import {hostOptions} from '../../cli/compose-host.js'
import {ComposeCommand, progressPrinter} from '../../cli/compose.js'
import {NcxError} from '../../engine/errors.js'
import {up} from '../../engine/compose/up.js'
import {projectContainers} from '../../engine/compose/containers.js'

export default class Start extends ComposeCommand<typeof Start> {
  static summary = 'Start services'
  static strict = false

  async run(): Promise<void> {
    const project = this.project()
    const engine = this.engine()
    const services = this.positionals.length > 0 ? this.positionals : Object.keys(project.services)
    if (projectContainers(engine, project.name).length === 0) throw new NcxError('service(s) have no container to start', {exitCode: 1, hint: 'create them with "ncx compose up" or "ncx compose create"'})
    // Start existing containers in dependency order, honouring depends_on conditions; nothing is created or recreated.
    await up(engine, project, {services, noRecreate: true, pullImage: async () => {}, pull: 'never', onEvent: progressPrinter(), onWarning: (m) => this.warnLine(m), extraOptions: hostOptions})
  }
}
