import {join} from 'node:path'

import {loadConfig} from '../config.js'
import {UsageError} from '../errors.js'
import {readJson} from '../store/files.js'
import {StorePaths} from '../store/paths.js'

/**
 * Registry settings, `<config root>/registries.json` (the parts of Docker's daemon.json
 * about registries): `{"insecure-registries": ["host:5000"], "registry-mirrors": ["https://mirror"]}`.
 * Mirrors apply to Docker Hub, as in Docker. `NCX_INSECURE_REGISTRIES` (comma-separated) adds hosts.
 * ncx.toml's `[registries] mirrors / insecure` add to this file; `NCX_REGISTRY_MIRRORS` replaces the mirrors.
 * `NCX_REGISTRY_TIMEOUT` / `[registries] timeout` bound how long a connection may stay silent.
 */
export interface RegistrySettings {
  insecure: string[]
  mirrors: string[]
  /** How long a registry connection may send nothing before the request fails (ms). */
  timeoutMs?: number
}

/** The default of `timeoutMs`: a stalled registry fails a pull, it never hangs it. */
export const REGISTRY_TIMEOUT_MS = 30_000

/** `NCX_REGISTRY_TIMEOUT` (seconds), else ncx.toml's `[registries] timeout`, else 30 s. */
export function registryTimeoutMs(env: NodeJS.ProcessEnv, fromFile: number | undefined): number {
  const value = env.NCX_REGISTRY_TIMEOUT
  if (value !== undefined && value !== '') {
    const seconds = Number(value)
    if (!(seconds > 0)) throw new UsageError(`NCX_REGISTRY_TIMEOUT=${value} is not a number of seconds above 0`, 'fix the variable or unset it')
    return seconds * 1000
  }
  return fromFile !== undefined ? fromFile * 1000 : REGISTRY_TIMEOUT_MS
}

export function registrySettings(paths: StorePaths, env: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const file = readJson<{'insecure-registries'?: string[]; 'registry-mirrors'?: string[]}>(join(paths.config, 'registries.json'), {})
  // ncx.toml's [registries] (src/engine/config.ts) adds to registries.json; the environment has the last word.
  const toml = loadConfig(paths.config, env).config
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const fromEnv = list(env.NCX_INSECURE_REGISTRIES)
  const mirrors = env.NCX_REGISTRY_MIRRORS !== undefined ? list(env.NCX_REGISTRY_MIRRORS) : [...(file['registry-mirrors'] ?? []), ...(toml.registryMirrors ?? [])]
  return {insecure: [...new Set([...(file['insecure-registries'] ?? []), ...(toml.insecureRegistries ?? []), ...fromEnv])], mirrors, timeoutMs: registryTimeoutMs(env, toml.registryTimeout)}
}

/** Plain HTTP for loopback hosts (as Docker does) and for registries marked insecure. */
export function isInsecure(domain: string, settings: RegistrySettings): boolean {
  const host = domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return true
  return settings.insecure.includes(domain) || settings.insecure.includes(host)
}

/** The base URL of a registry's API (Docker Hub's lives at registry-1.docker.io). */
export function registryBase(domain: string, settings: RegistrySettings): string {
  if (domain === 'docker.io') return 'https://registry-1.docker.io'
  return `${isInsecure(domain, settings) ? 'http' : 'https'}://${domain}`
}
