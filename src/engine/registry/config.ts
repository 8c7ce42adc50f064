import {join} from 'node:path'

import {readJson} from '../store/files.js'
import {StorePaths} from '../store/paths.js'

/**
 * Registry settings, `<config root>/registries.json` (the parts of Docker's daemon.json
 * about registries): `{"insecure-registries": ["host:5000"], "registry-mirrors": ["https://mirror"]}`.
 * Mirrors apply to Docker Hub, as in Docker. `NCX_INSECURE_REGISTRIES` (comma-separated) adds hosts.
 */
export interface RegistrySettings {
  insecure: string[]
  mirrors: string[]
}

export function registrySettings(paths: StorePaths, env: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const file = readJson<{'insecure-registries'?: string[]; 'registry-mirrors'?: string[]}>(join(paths.config, 'registries.json'), {})
  const fromEnv = (env.NCX_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  return {insecure: [...(file['insecure-registries'] ?? []), ...fromEnv], mirrors: file['registry-mirrors'] ?? []}
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
