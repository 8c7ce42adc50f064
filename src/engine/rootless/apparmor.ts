/**
 * Ubuntu's AppArmor restriction of unprivileged user namespaces
 * (`kernel.apparmor_restrict_unprivileged_userns=1`, Ubuntu >= 23.10 and GitHub's ubuntu-24.04
 * runners): an unconfined program that creates a user namespace gets no capabilities in it.
 * The way out Ubuntu itself takes for podman, rootlesskit and runc is a profile for the
 * program's path with `userns,`. ncx's program that creates the namespace is ncx-runtime
 * (`userns-init`; everything else joins that namespace with setns, which the restriction does
 * not cover), so one profile for ncx-runtime's path is enough.
 *
 * Whether that profile is loaded: the kernel lists every loaded profile under
 * `<securityfs>/apparmor/policy/profiles/<name>.<n>/` with its `name`, `mode` and `attach`
 * (the path it confines), readable by any user. Where that tree cannot be read, the profile
 * file in /etc/apparmor.d stands in for it, as Docker's and nerdctl's rootless setup tools
 * look for theirs.
 */
import {readFileSync, readdirSync, realpathSync} from 'node:fs'
import {join} from 'node:path'

export const APPARMOR_RESTRICT_SYSCTL = '/proc/sys/kernel/apparmor_restrict_unprivileged_userns'
export const PROFILE_NAME = 'ncx-runtime'

export interface AppArmorHost {
  /** securityfs's mount point (`/sys/kernel/security`). */
  securityfs: string
  /** Where profile files live (`/etc/apparmor.d`). */
  profileDir: string
}

export const defaultAppArmorHost: AppArmorHost = {securityfs: '/sys/kernel/security', profileDir: '/etc/apparmor.d'}

export type ProfileState =
  /** A loaded profile attaches to the runtime's path. */
  | {state: 'loaded'; name: string; mode: string}
  /** The loaded profiles cannot be read here; the profile file for this path is installed. */
  | {state: 'installed'; file: string}
  | {state: 'missing'; detail: string}

/** The path AppArmor sees when the runtime is executed (symlinks resolved). */
export function attachPath(runtimePath: string): string {
  try {
    return realpathSync(runtimePath)
  } catch {
    return runtimePath
  }
}

/** A path as an AppArmor attachment: quoted when it holds anything beyond the plain path characters. */
function quoted(path: string): string {
  return /^[\w/.+@-]+$/.test(path) ? path : `"${path.replace(/(["\\])/g, '\\$1')}"`
}

/** The profile `ncx system doctor --apparmor-profile` prints and the GitHub Action installs. */
export function apparmorProfile(runtimePath: string): string {
  return [
    `# /etc/apparmor.d/${PROFILE_NAME}: lets ncx-runtime create user namespaces`,
    `# (kernel.apparmor_restrict_unprivileged_userns=1). Load with: sudo apparmor_parser -r /etc/apparmor.d/${PROFILE_NAME}`,
    'abi <abi/4.0>,',
    'include <tunables/global>',
    '',
    `profile ${PROFILE_NAME} ${quoted(attachPath(runtimePath))} flags=(unconfined) {`,
    '  userns,',
    '',
    `  include if exists <local/${PROFILE_NAME}>`,
    '}',
    '',
  ].join('\n')
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** `*` within one path component, `**` across them: the attachment globs a profile may use. */
function globMatches(glob: string, path: string): boolean {
  const pattern = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${pattern}$`).test(path)
}

/** Is a profile for `runtimePath` loaded (or, where that cannot be read, installed)? */
export function runtimeProfileState(runtimePath: string, host: AppArmorHost = defaultAppArmorHost): ProfileState {
  const target = attachPath(runtimePath)
  const policy = join(host.securityfs, 'apparmor', 'policy', 'profiles')
  let entries: string[] | undefined
  try {
    entries = readdirSync(policy)
  } catch {
    entries = undefined
  }
  if (entries) {
    let ours: string | undefined
    for (const entry of entries) {
      const attach = read(join(policy, entry, 'attach'))
      const name = read(join(policy, entry, 'name')) ?? entry.replace(/\.\d+$/, '')
      if (attach && (attach === target || globMatches(attach, target))) return {state: 'loaded', name, mode: read(join(policy, entry, 'mode')) ?? 'unknown'}
      if (name === PROFILE_NAME) ours = attach
    }
    return {
      state: 'missing',
      detail: ours ? `the loaded profile ${PROFILE_NAME} is for ${ours}, not for ${target} (ncx moved or was reinstalled)` : `no loaded AppArmor profile attaches to ${target}`,
    }
  }
  const file = join(host.profileDir, PROFILE_NAME)
  const text = read(file)
  if (text?.includes(`profile ${PROFILE_NAME} ${quoted(target)} `)) return {state: 'installed', file}
  return {
    state: 'missing',
    detail: text ? `${file} is for another path than ${target} (ncx moved or was reinstalled)` : `no AppArmor profile for ${target} (${file} does not exist; the loaded profiles in ${policy} cannot be read)`,
  }
}

/** The commands that install and load the profile (the fix doctor and the engine print). */
export const PROFILE_FIX = `ncx system doctor --apparmor-profile | sudo tee /etc/apparmor.d/${PROFILE_NAME} && sudo apparmor_parser -r /etc/apparmor.d/${PROFILE_NAME}`
