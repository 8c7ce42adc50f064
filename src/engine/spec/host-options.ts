/**
 * The host-facing part of a container's spec, applied after `generateSpec`: security options
 * (spec/security.ts), resource limits (cgroup/resources.ts) and the container's cgroup
 * (cgroup/manager.ts: where it goes, or one warning when limits cannot be applied here).
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {runtimeBinary} from '../../native/index.js'
import {planCgroup} from '../cgroup/manager.js'
import {toOciResources} from '../cgroup/resources.js'
import {NcxError} from '../errors.js'
import {ContainerOptions} from './generate.js'
import {OciSpec} from './oci.js'
import {applySecurity} from './security.js'
import {applyNamespaceOptions} from './namespaces.js'
import {resolveGroups} from './user.js'

/** ncx's init for `--init`: a static binary installed next to the runtime. */
export function initBinary(): string {
  const path = join(dirname(runtimeBinary()), 'ncx-init')
  if (!existsSync(path)) throw new NcxError(`--init needs ${path}, which is missing`, {hint: 'rebuild the native parts: npm run build:native'})
  return path
}

export function applyHostOptions(spec: OciSpec, id: string, options: ContainerOptions, lowerDirs: string[], warn: (message: string) => void): void {
  const sec = options.security
  applySecurity(spec, sec, {
    network: options.network,
    groupIds: resolveGroups(sec?.groupAdd ?? [], lowerDirs),
    ...(sec?.init ? {initBinary: initBinary()} : {}),
  })
  const resources = toOciResources(options.resources)
  if (resources) spec.linux.resources = resources
  if (options.cgroup?.namespace === 'host') spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'cgroup')
  if (options.resources?.oomKillDisable) warn('Your kernel does not support OomKillDisable. OomKillDisable discarded.')
  const plan = planCgroup(id, options.resources, options.cgroup)
  if (plan.path) spec.linux.cgroupsPath = plan.path
  if (plan.warning) warn(plan.warning)
  applyNamespaceOptions(spec, options)
}
