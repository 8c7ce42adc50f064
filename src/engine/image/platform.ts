/** Image platforms (`linux/arm64/v8`): parsing, this host's, and matching an image config. */
import type {Engine} from '../engine.js'
import {UsageError} from '../errors.js'
import type {ImageConfig} from './types.js'

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

/** The platform of local image `imageId` when it is not `platform` (`undefined`: it matches). */
export function otherPlatform(engine: Engine, imageId: string, platform: string): string | undefined {
  const config = engine.content.readJson<ImageConfig>(imageId, 'image config') as ImageConfig & {variant?: string}
  if (platformMatches(config, parsePlatform(platform))) return undefined
  return formatPlatform({os: config.os ?? 'linux', architecture: config.architecture ?? '', ...(config.variant ? {variant: config.variant} : {})})
}
