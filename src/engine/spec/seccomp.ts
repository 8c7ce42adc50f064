/**
 * Docker seccomp profiles (the JSON of `--security-opt seccomp=FILE` and of the default
 * profile) → the OCI `linux.seccomp` the runtime compiles to BPF. As moby's `setupSeccomp`:
 * rules are kept or dropped for this container by `includes`/`excludes` (capabilities of
 * its bounding set, architecture, minimum kernel); `archMap` gives the architectures.
 */
import {readFileSync} from 'node:fs'
import {release} from 'node:os'

import {UsageError} from '../errors.js'

export interface SeccompArg {
  index: number
  value: number
  valueTwo?: number
  op: string
}

interface Filter {
  caps?: string[]
  arches?: string[]
  minKernel?: string
}

export interface DockerSeccompSyscall {
  name?: string
  names?: string[]
  action: string
  errnoRet?: number
  args?: SeccompArg[] | null
  comment?: string
  includes?: Filter
  excludes?: Filter
}

export interface DockerSeccompProfile {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  archMap?: Array<{architecture: string; subArchitectures?: string[]}> | null
  flags?: string[]
  syscalls?: DockerSeccompSyscall[] | null
}

export interface OciSeccomp {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  syscalls: Array<{names: string[]; action: string; errnoRet?: number; args?: Array<{index: number; value: number; valueTwo: number; op: string}>}>
}

const ACTIONS = new Set(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'])
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'])

/** Go's GOARCH names for Node's, as profiles' `arches` use them. */
const GOARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64'}
const NATIVE_SCMP: Record<string, string> = {x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', riscv64: 'SCMP_ARCH_RISCV64', s390x: 'SCMP_ARCH_S390X', ppc64: 'SCMP_ARCH_PPC64LE'}

function kernelAtLeast(min: string, current = release()): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((x) => Number.parseInt(x, 10) || 0)
  const [a, b] = parse(current)
  const [c, d] = parse(min)
  return a > c || (a === c && b >= d)
}

/** Read a profile file given to `--security-opt seccomp=FILE`; bad JSON is a usage error. */
export function readSeccompProfile(file: string): DockerSeccompProfile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`opening seccomp profile (${file}) failed: ${(error as Error).message}`)
  }
  let profile: DockerSeccompProfile
  try {
    profile = JSON.parse(text) as DockerSeccompProfile
  } catch (error) {
    throw new UsageError(`decoding seccomp profile failed: ${file}: ${(error as Error).message}`)
  }
  validate(profile, file)
  return profile
}

function validate(profile: DockerSeccompProfile, where: string): void {
  if (typeof profile !== 'object' || profile === null || typeof profile.defaultAction !== 'string') {
    throw new UsageError(`seccomp profile ${where} has no defaultAction`, 'use Docker\'s profile format: {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [...]}')
  }
  const checkAction = (a: string, what: string) => {
    if (!ACTIONS.has(a)) throw new UsageError(`seccomp profile ${where}: unknown action ${JSON.stringify(a)} in ${what}`)
  }
  checkAction(profile.defaultAction, 'defaultAction')
  for (const [i, s] of (profile.syscalls ?? []).entries()) {
    if (s.name && s.names && s.names.length > 0) throw new UsageError(`seccomp profile ${where}: syscalls[${i}] has both "name" and "names"`)
    checkAction(s.action, `syscalls[${i}]`)
    for (const a of s.args ?? []) {
      if (!OPS.has(a.op)) throw new UsageError(`seccomp profile ${where}: unknown operator ${JSON.stringify(a.op)} in syscalls[${i}]`)
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new UsageError(`seccomp profile ${where}: argument index ${a.index} out of range 0-5 in syscalls[${i}]`)
    }
  }
}

/** The OCI form of `profile` for a container with bounding capabilities `caps`. */
export function toOciSeccomp(profile: DockerSeccompProfile, caps: readonly string[], arch: string = process.arch, kernel = release()): OciSeccomp {
  const goarch = GOARCH[arch] ?? arch
  const native = NATIVE_SCMP[arch]
  let architectures = profile.architectures ?? []
  if (profile.archMap && native) {
    const entry = profile.archMap.find((a) => a.architecture === native)
    if (entry) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])]
  }
  const keep = (s: DockerSeccompSyscall): boolean => {
    const inc = s.includes ?? {}
    const exc = s.excludes ?? {}
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(goarch)) return false
    if (exc.arches && exc.arches.includes(goarch)) return false
    if (inc.caps && !inc.caps.every((c) => caps.includes(c))) return false
    if (exc.caps && exc.caps.some((c) => caps.includes(c))) return false
    if (inc.minKernel && !kernelAtLeast(inc.minKernel, kernel)) return false
    if (exc.minKernel && kernelAtLeast(exc.minKernel, kernel)) return false
    return true
  }
  const syscalls: OciSeccomp['syscalls'] = []
  for (const s of profile.syscalls ?? []) {
    if (!keep(s)) continue
    const names = s.name ? [s.name] : s.names ?? []
    if (names.length === 0) continue
    syscalls.push({
      names,
      action: s.action,
      ...(s.errnoRet !== undefined ? {errnoRet: s.errnoRet} : {}),
      ...(s.args && s.args.length > 0 ? {args: s.args.map((a) => ({index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op}))} : {}),
    })
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? {defaultErrnoRet: profile.defaultErrnoRet} : {}),
    ...(architectures.length > 0 ? {architectures} : {}),
    ...(profile.flags && profile.flags.length > 0 ? {flags: profile.flags} : {}),
    syscalls,
  }
}
