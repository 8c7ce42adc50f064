import {Flags} from '@oclif/core'
import {realpathSync} from 'node:fs'

import {BaseCommand} from '../../cli/base.js'
import {bootContainers} from '../../engine/container/boot.js'

/** A `systemd --user` unit that runs `ncx system boot` when the user's manager starts. */
function systemdUnit(ncx: string): string {
  return [
    '[Unit]',
    'Description=Start ncx containers with restart policy always or unless-stopped',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${ncx} system boot`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

export default class Boot extends BaseCommand<typeof Boot> {
  static summary = 'Start the containers that come back after a reboot'
  static description = [
    'Starts every container with --restart always, or --restart unless-stopped that the user did not stop, which is not',
    'running. ncx has no daemon: run this at boot, from a systemd --user unit (ncx system boot --systemd-unit prints one;',
    'with "loginctl enable-linger" it runs without a login) or from crontab: @reboot ncx system boot. No root is needed.',
  ].join(' ')

  static flags = {
    'systemd-unit': Flags.boolean({description: 'Print a systemd --user unit that runs this command at boot, and exit'}),
  }

  static examples = [
    'ncx system boot',
    'ncx system boot --systemd-unit > ~/.config/systemd/user/ncx-boot.service && systemctl --user enable ncx-boot.service',
  ]

  async run(): Promise<void> {
    if (this.flags['systemd-unit']) {
      process.stdout.write(systemdUnit(realpathSync(process.argv[1])))
      return
    }
    let failed = false
    for (const r of bootContainers(this.engine())) {
      if (r.error === undefined) this.log(r.container.name)
      else {
        failed = true
        process.stderr.write(`Error: cannot start ${r.container.name}: ${r.error}\n`)
      }
    }
    if (failed) this.exit(1)
  }
}
