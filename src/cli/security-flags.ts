/** `run`/`create` flags for security options: the flag table and their parsing. */
import {UsageError} from '../engine/errors.js'
import {readSeccompProfile} from '../engine/spec/seccomp.js'
import {SecurityOptions, effectiveCapabilities, parseDevice, parseUlimit, validateSysctl} from '../engine/spec/security.js'
import {FlagSpec, ParsedFlags} from './argv.js'

export const SECURITY_FLAGS: FlagSpec[] = [
  {name: 'cap-add', kind: 'multiple', description: 'Add Linux capabilities (NAME, CAP_NAME or ALL)'},
  {name: 'cap-drop', kind: 'multiple', description: 'Drop Linux capabilities (NAME, CAP_NAME or ALL)'},
  {name: 'privileged', kind: 'boolean', description: 'All capabilities of the user namespace, accessible host devices, no seccomp, no masked paths'},
  {name: 'security-opt', kind: 'multiple', description: 'Security options: no-new-privileges, seccomp=unconfined|PROFILE.json, systempaths=unconfined'},
  {name: 'sysctl', kind: 'multiple', description: 'Namespaced kernel parameters (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)'},
  {name: 'group-add', kind: 'multiple', description: 'Add additional groups to join'},
  {name: 'device', kind: 'multiple', description: 'Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])'},
  {name: 'ulimit', kind: 'multiple', description: 'Ulimit options (NAME=SOFT[:HARD])'},
  {name: 'oom-score-adj', kind: 'string', description: "Tune host's OOM preferences (-1000 to 1000)"},
  {name: 'init', kind: 'boolean', description: 'Run an init inside the container that forwards signals and reaps processes'},
]

/** The security options given on the command line (undefined when none). */
export function parseSecurityFlags(flags: ParsedFlags, network: string): SecurityOptions | undefined {
  const list = (k: string) => (flags[k] as string[] | undefined) ?? []
  const out: SecurityOptions = {}
  if (list('cap-add').length > 0) out.capAdd = list('cap-add')
  if (list('cap-drop').length > 0) out.capDrop = list('cap-drop')
  if (flags.privileged === true) out.privileged = true
  // Validates the names now, so a typo fails before anything is created.
  effectiveCapabilities(out.capAdd, out.capDrop, false)
  for (const opt of list('security-opt')) {
    const [key, value] = opt.includes('=') ? [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)] : opt.includes(':') ? [opt.slice(0, opt.indexOf(':')), opt.slice(opt.indexOf(':') + 1)] : [opt, undefined]
    if (key === 'no-new-privileges') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`invalid --security-opt 2: ${JSON.stringify(opt)}`, 'use no-new-privileges or no-new-privileges=true|false')
      if (value !== 'false') out.noNewPrivileges = true
    } else if (key === 'seccomp') {
      if (!value) throw new UsageError(`invalid --security-opt: ${JSON.stringify(opt)}`, 'use seccomp=unconfined or seccomp=PROFILE.json')
      out.seccomp = value === 'unconfined' ? 'unconfined' : readSeccompProfile(value)
    } else if (key === 'systempaths') {
      if (value !== 'unconfined') throw new UsageError(`invalid --security-opt: ${JSON.stringify(opt)}`, 'the only value is systempaths=unconfined')
      out.unmaskSystemPaths = true
    } else if (key === 'label' || key === 'apparmor') {
      throw new UsageError(`--security-opt ${key} is not supported: ncx does not use ${key === 'label' ? 'SELinux' : 'AppArmor'}`, 'run without it')
    } else {
      throw new UsageError(`invalid --security-opt: ${JSON.stringify(opt)}`, 'use no-new-privileges, seccomp=unconfined|PROFILE.json or systempaths=unconfined')
    }
  }
  const sysctls: Record<string, string> = {}
  for (const s of list('sysctl')) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new UsageError(`invalid argument ${JSON.stringify(s)} for "--sysctl" flag: sysctl must be in the format KEY=VALUE`)
    const key = s.slice(0, eq)
    validateSysctl(key, network)
    sysctls[key] = s.slice(eq + 1)
  }
  if (Object.keys(sysctls).length > 0) out.sysctls = sysctls
  if (list('group-add').length > 0) out.groupAdd = list('group-add')
  if (list('device').length > 0) out.devices = list('device').map(parseDevice)
  if (list('ulimit').length > 0) out.ulimits = list('ulimit').map(parseUlimit)
  const adj = flags['oom-score-adj'] as string | undefined
  if (adj !== undefined) {
    if (!/^-?\d+$/.test(adj)) throw new UsageError(`invalid argument ${JSON.stringify(adj)} for "--oom-score-adj" flag: strconv.ParseInt: parsing ${JSON.stringify(adj)}: invalid syntax`)
    const n = Number(adj)
    if (n < -1000 || n > 1000) throw new UsageError(`invalid value ${n}, range for oom score adj is [-1000, 1000]`)
    out.oomScoreAdj = n
  }
  if (flags.init === true) out.init = true
  return Object.keys(out).length > 0 ? out : undefined
}
