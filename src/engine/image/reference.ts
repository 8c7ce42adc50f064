import {UsageError} from '../errors.js'

/** A parsed image reference, normalised as Docker does it. */
export interface ImageReference {
  /** `docker.io`, `localhost:5000`, `ghcr.io` … */
  readonly domain: string
  /** `library/busybox`, `team/app` … */
  readonly path: string
  readonly tag?: string
  readonly digest?: string
}

export const DEFAULT_DOMAIN = 'docker.io'
const LEGACY_DOMAIN = 'index.docker.io'

const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/

/**
 * Parse `name[:tag][@digest]` the way Docker's reference library does: a first component
 * with a `.` or `:` or equal to `localhost` is a registry; Docker Hub names get `library/`.
 */
export function parseReference(input: string): ImageReference {
  const hint = 'use NAME[:TAG][@DIGEST], e.g. busybox:latest or localhost:5000/team/app:1'
  const bad = (why: string) => new UsageError(`invalid reference format: ${JSON.stringify(input)}: ${why}`, hint)
  if (input.length === 0) throw bad('empty name')
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest) || (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))) {
      throw bad(`invalid digest ${JSON.stringify(digest)}`)
    }
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`)
  }
  if (rest.length === 0) throw bad('empty name')
  if (rest.length > 255) throw bad('repository name must not be longer than 255 characters')
  if (/^[a-f0-9]{64}$/.test(rest)) throw bad('cannot specify 64-byte hexadecimal strings')
  let domain = DEFAULT_DOMAIN
  let path = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw bad(`invalid registry ${JSON.stringify(first)}`)
      domain = first === LEGACY_DOMAIN ? DEFAULT_DOMAIN : first
      path = rest.slice(slash + 1)
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      if (component.toLowerCase() === component) throw bad(`invalid name component ${JSON.stringify(component)}`)
      // distribution/reference's own wording (it names the path, not the input)
      throw new UsageError(`invalid reference format: repository name (${path}) must be lowercase`, hint)
    }
  }
  if (!tag && !digest) tag = 'latest'
  return {domain, path, tag, digest}
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`
}

/** The fully qualified form: `docker.io/library/busybox:latest`. */
export function formatReference(ref: ImageReference): string {
  let out = repositoryName(ref)
  if (ref.tag) out += `:${ref.tag}`
  if (ref.digest) out += `@${ref.digest}`
  return out
}

/** The form Docker shows in `images`: `busybox`, `team/app`, `localhost:5000/a`. */
export function familiarRepository(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref)
  return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path
}

export function familiarName(ref: ImageReference): string {
  let out = familiarRepository(ref)
  if (ref.tag) out += `:${ref.tag}`
  if (ref.digest) out += `@${ref.digest}`
  return out
}
