/** Image platforms (`linux/arm64/v8`): parsing, this host's, and matching an image config. */
import {UsageError} from '../errors.js'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

/** `amd64`, `arm64` … from Node's `process.arch`. */
export function hostArchitecture(): string {
  const map: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'}
  return map[process.arch] ?? process.arch
}

/** `linux/arm64/v8` → platform; the default is this host. */
export function parsePlatform(text?: string): Platform {
  if (!text) return {os: 'linux', architecture: hostArchitecture()}
  const [os, architecture, variant, ...rest] = text.split('/')
  if (!os || !architecture || rest.length > 0) throw new UsageError(`invalid platform ${JSON.stringify(text)}`, 'use OS/ARCH[/VARIANT], e.g. linux/arm64')
  return {os, architecture, ...(variant ? {variant} : {})}
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

/** Whether an image config (`os`, `architecture`, `variant`) is for `wanted` (a missing variant matches). */
export function platformMatches(image: {os?: string; architecture?: string; variant?: string}, wanted: Platform): boolean {
  if ((image.os ?? 'linux') !== wanted.os || (image.architecture ?? hostArchitecture()) !== wanted.architecture) return false
  return !wanted.variant || !image.variant || image.variant === wanted.variant
}
