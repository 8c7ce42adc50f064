import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base.js'
import {compileTemplate} from '../cli/template.js'
import {systemInfo} from '../engine/info.js'

const mapText = (m: Array<{container: number; host: number; size: number}>) => m.map((r) => `${r.container}:${r.host}:${r.size}`).join(', ')

export default class Info extends BaseCommand<typeof Info> {
  static summary = 'Display system-wide information'
  static aliases = ['system:info']
  static flags = {
    format: Flags.string({char: 'f', description: "Format output: 'json' or a Go template such as '{{.Rootless}}'"}),
  }

  async run(): Promise<void> {
    const info = systemInfo(this.engine(), this.config.version)
    const {format} = this.flags
    if (format === 'json') return this.log(JSON.stringify(info))
    if (format) return this.log(compileTemplate(format).render(info))
    const cg = info.Cgroup
    const lines = [
      'Client:',
      ` Version:    ${this.config.version}`,
      ` Context:    ${info.Rootless ? 'rootless' : 'rootful'}`,
      '',
      'Server:',
      ` Containers: ${info.Containers}`,
      `  Running: ${info.ContainersRunning}`,
      `  Paused: ${info.ContainersPaused}`,
      `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`,
      ` Server Version: ${info.ServerVersion}`,
      ` Storage Driver: ${info.Driver}`,
      `  Backing Filesystem: ${info.BackingFilesystem}`,
      ...(info.DriverReason ? [`  Fallback reason: ${info.DriverReason}`] : []),
      ...(info.Driver === 'overlay' ? [`  Supports userxattr: ${info.Rootless ? 'true (overlay mounted inside the user namespace)' : 'n/a (rootful)'}`] : []),
      ` Cgroup Driver: ${cg.delegated.length > 0 ? 'cgroupfs' : 'none'}`,
      ` Cgroup Version: ${cg.version === 'v2' ? '2' : cg.version === 'hybrid' ? '1 (hybrid: v2 mounted without controllers)' : cg.version === 'v1' ? '1' : 'none'}`,
      `  Controllers delegated: ${cg.delegated.length > 0 ? cg.delegated.join(' ') : 'none'}`,
      ...(cg.delegationRoot ? [`  Delegated subtree: ${cg.delegationRoot} (containers in ${cg.delegationRoot.replace(/\/$/, '')}/ncx/<id>)`] : []),
      ...(cg.limitation ? [`  Limits: not enforced (${cg.limitation})`] : []),
      ` Runtimes: ${Object.keys(info.Runtimes).join(' ')}`,
      ` Default Runtime: ${info.DefaultRuntime}`,
      ` Runtime Version: ${info.Runtime.version}`,
      ` Runtime Path: ${info.Runtime.path}`,
      ' Security Options:',
      ...(info.Rootless ? ['  rootless'] : []),
      ...(info.UserNamespace
        ? [
            `  userns: uid map ${mapText(info.UserNamespace.uidMap)}; gid map ${mapText(info.UserNamespace.gidMap)}${info.UserNamespace.singleId ? ' (single id: no subordinate range)' : ''}`,
            `  userns holder pid: ${info.UserNamespace.holderPid ?? 'none'}`,
          ]
        : []),
      ` Network Backend: ${info.Network.Backend} (${info.Rootless ? 'per-user' : 'per-store'} network namespace; default network bridge)`,
      ...(info.Network.Problem ? [`  Not available: ${info.Network.Problem}; containers that need a network are refused (use --network none)`] : []),
      `  slirp4netns: ${info.Network.Slirp4netnsVersion ?? 'not installed (sudo apt-get install slirp4netns)'}`,
      `  Host loopback (10.0.2.2): ${info.Network.HostLoopback ? 'enabled' : 'disabled (NCX_NETWORK_HOST_LOOPBACK=1 enables it)'}`,
      ...(info.Network.Namespace ? [`  Namespace: supervisor pid ${info.Network.Namespace.pid}, holder pid ${info.Network.Namespace.holderPid}, slirp4netns pid ${info.Network.Namespace.slirpPid}`] : []),
      ` Kernel Version: ${info.KernelVersion}`,
      ` Operating System: ${info.OperatingSystem}`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${(info.MemTotal / 1024 ** 3).toFixed(2)}GiB`,
      ` Data Root: ${info.DataRoot} (${info.Config.Sources.DataRoot})`,
      ` Run Root: ${info.RunRoot} (${info.Config.Sources.RunRoot})`,
      ` Config Root: ${info.ConfigRoot}`,
      ` Config File: ${info.Config.File} (${info.Config.Loaded ? 'loaded' : 'not present: built-in defaults'})`,
      `  Default Network: ${info.Config.DefaultNetwork ?? 'bridge'} (${info.Config.Sources.DefaultNetwork})`,
      `  Cgroup Manager: ${info.Config.CgroupManager} (${info.Config.Sources.CgroupManager})`,
      `  Registry Mirrors: ${info.Config.RegistryMirrors.join(', ') || 'none'} (${info.Config.Sources.RegistryMirrors})`,
      `  Insecure Registries: ${info.Config.InsecureRegistries.join(', ') || 'none (loopback registries are always plain HTTP)'} (${info.Config.Sources.InsecureRegistries})`,
      `  Port Bypass: ${info.Config.PortBypass ? 'on' : 'off'} (${info.Config.Sources.PortBypass})`,
    ]
    this.log(lines.join('\n'))
  }
}
