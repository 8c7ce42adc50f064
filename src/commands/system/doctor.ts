import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {palette, withSpinner} from '../../cli/style.js'
import {Engine} from '../../engine/engine.js'
import {storePaths} from '../../engine/store/paths.js'
import {CheckStatus, apparmorProfile, defaultDoctorHost, runDoctor, storeConsistencyCheck} from '../../engine/doctor.js'
import {bridgeReport} from '../../engine/network/networks.js'
import {runtimeBinary} from '../../native/index.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static summary = 'Check every rootless prerequisite and print the fix for what is wrong'
  static description =
    'Each check is ok, warn (containers run with something less: single-id mapping, copy storage, no networking, no limits, no low ports) or fail (containers cannot run until fixed). Exits 1 when any check fails.'
  static examples = ['ncx system doctor', 'ncx system doctor --format json', 'ncx system doctor --apparmor-profile | sudo tee /etc/apparmor.d/ncx-runtime && sudo apparmor_parser -r /etc/apparmor.d/ncx-runtime']
  static flags = {
    format: Flags.string({description: "Format output: 'json' or a Go template such as '{{.Status}}'", helpGroup: 'OUTPUT'}),
    quiet: Flags.boolean({char: 'q', description: 'Print only the checks that are not ok', helpGroup: 'OUTPUT'}),
    'apparmor-profile': Flags.boolean({description: 'Print an AppArmor profile that allows ncx-runtime to create user namespaces, and exit'}),
    // For tests and for diagnosing another configuration: where the prerequisites are read from.
    'subuid-file': Flags.string({hidden: true, default: '/etc/subuid'}),
    'subgid-file': Flags.string({hidden: true, default: '/etc/subgid'}),
    'proc-sys': Flags.string({hidden: true, default: '/proc/sys'}),
  }

  async run(): Promise<void> {
    if (this.flags['apparmor-profile']) {
      process.stdout.write(apparmorProfile(runtimeBinary()))
      return
    }
    // The storage probe needs the user namespace and the store check an engine, made when first
    // needed: it refuses a data root or runtime directory of someone else's, which doctor
    // reports as its own check first.
    let opened: Engine | undefined
    const engine = () => (opened ??= new Engine({dataRoot: this.flags.root}))
    const host = defaultDoctorHost({
      subuidFile: this.flags['subuid-file'],
      subgidFile: this.flags['subgid-file'],
      procSys: this.flags['proc-sys'],
      runtimeBinary,
      storageDriver: () => engine().storageDriver(),
      bridges: () => bridgeReport(engine()),
    })
    const report = await withSpinner('Checking rootless prerequisites', async () => {
      const r = runDoctor(storePaths({dataRoot: this.flags.root}), host)
      // A store doctor just refused (another user's) is not opened for the consistency check.
      if (r.checks.some((c) => c.status === 'fail' && c.id.endsWith('_root_private'))) return r
      // The read-only part of `system check` (no blob re-hashing): what crashes left in the store.
      const {checkStore} = await import('../../engine/check.js')
      r.checks.push(storeConsistencyCheck(await checkStore(engine(), {repair: false, force: false, quick: true})))
      return r
    })
    const {format} = this.flags
    if (format === 'json') this.log(JSON.stringify(report, null, 2))
    else if (format) {
      const {compileTemplate} = await import('../../cli/template.js')
      const tpl = compileTemplate(format)
      for (const c of report.checks) this.log(tpl.render(c))
    } else {
      const c = palette()
      const tag: Record<CheckStatus, string> = {ok: c.green('[ok]  '), warn: c.yellow('[warn]'), fail: c.red('[fail]')}
      for (const check of report.checks) {
        if (this.flags.quiet && check.status === 'ok') continue
        this.log(`${tag[check.status]} ${check.title}: ${check.detail}`)
        if (check.fix) this.log(`       fix: ${check.fix}`)
      }
      const fails = report.checks.filter((x) => x.status === 'fail').length
      const warns = report.checks.filter((x) => x.status === 'warn').length
      this.log(`\n${fails === 0 ? 'ncx can run rootless containers here' : 'ncx cannot run containers here until the failures are fixed'} (${fails} failed, ${warns} warnings)`)
    }
    if (!report.ok) this.exit(1)
  }
}
