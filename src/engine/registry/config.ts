import {join} from 'node:path'

import {loadConfig} from '../config.js'
import {readJson} from '../store/files.js'
import {StorePaths} from '../store/paths.js'

/**
 * Registry settings, `<config root>/registries.json` (the parts of Docker's daemon.json
 * about registries): `{"insecure-registries": ["host:5000"], "registry-mirrors": ["https://mirror"]}`.
 * Mirrors apply to Docker Hub, as in Docker. `NCX_INSECURE_REGISTRIES` (comma-separated) adds hosts.
 * ncx.toml's `[registries] mirrors / insecure` add to this file; `NCX_REGISTRY_MIRRORS` replaces the mirrors.
 */
export interface RegistrySettings {
  insecure: string[]
  mirrors: string[]
}

export function registrySettings(paths: StorePaths, env: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const file = readJson<{'insecure-registries'?: string[]; 'registry-mirrors'?: string[]}>(join(paths.config, 'registries.json'), {})
  // ncx.toml's [registries] (src/engine/config.ts) adds to registries.json; the environment has the last word.
  const toml = loadConfig(paths.config, env).config
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const fromEnv = list(env.NCX_INSECURE_REGISTRIES)
  const mirrors = env.NCX_REGISTRY_MIRRORS !== undefined ? list(env.NCX_REGISTRY_MIRRORS) : [...(file['registry-mirrors'] ?? []), ...(toml.registryMirrors ?? [])]
  return {insecure: [...new Set([...(file['insecure-registries'] ?? []), ...(toml.insecureRegistries ?? []), ...fromEnv])], mirrors}
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
