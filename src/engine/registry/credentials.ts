import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {NcxError} from '../errors.js'
import {readJson, withLock, writeFileAtomic} from '../store/files.js'

/**
 * config.json holds passwords: 0600 (as docker and podman write it) whatever the umask, also
 * when it replaces a file that was readable by others; a missing ~/.docker is made 0700.
 */
const CONFIG_MODE = 0o600

function writeConfig(path: string, config: DockerConfig): void {
  writeFileAtomic(path, JSON.stringify(config, null, 2) + '\n', CONFIG_MODE)
}

/** Docker Hub's key in config.json, as the docker CLI writes it. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/'

export interface Credentials {
  username: string
  password: string
  /**
   * An identity token (Docker's `identitytoken`): an OAuth2 refresh token of the registry's
   * token service, used instead of the password where the registry asks for a bearer token.
   */
  identityToken?: string
}

interface DockerConfig {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credsStore?: string
  credHelpers?: Record<string, string>
  [key: string]: unknown
}

/** `$DOCKER_CONFIG/config.json`, default `~/.docker/config.json` — shared with the docker CLI. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json')
}

/** The key a registry's credentials are stored under. */
export function authKey(domain: string): string {
  return domain === 'docker.io' ? DOCKER_HUB_AUTH_KEY : domain
}

function decode(auth: string, where: string): Credentials {
  const text = Buffer.from(auth, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) throw new NcxError(`invalid credentials for ${where} in ${dockerConfigPath()}`, {hint: `run "ncx login ${where}" again`})
  return {username: text.slice(0, colon), password: text.slice(colon + 1)}
}

function helperGet(helper: string, server: string): Credentials | undefined {
  const tool = `docker-credential-${helper}`
  let out: string
  try {
    out = execFileSync(tool, ['get'], {input: server, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe']})
  } catch (error) {
    const e = error as {code?: string; stdout?: string}
    if (e.code === 'ENOENT') throw new NcxError(`credential helper ${tool} is configured but not installed`, {hint: `install it, or remove it from ${dockerConfigPath()}`})
    // Helpers answer "credentials not found in native keychain" with a non-zero exit.
    return undefined
  }
  const parsed = JSON.parse(out) as {Username?: string; Secret?: string}
  return parsed.Username && parsed.Secret ? {username: parsed.Username, password: parsed.Secret} : undefined
}

/** Credentials for `domain` from config.json (credHelpers, credsStore, then auths). */
export function lookupCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const path = dockerConfigPath(env)
  if (!existsSync(path)) return undefined
  const config = readJson<DockerConfig>(path, {})
  const key = authKey(domain)
  const helper = config.credHelpers?.[domain] ?? config.credHelpers?.[key] ?? config.credsStore
  if (helper) {
    const found = helperGet(helper, key)
    if (found) return found
  }
  const entry = config.auths?.[key] ?? config.auths?.[`https://${domain}`] ?? config.auths?.[`http://${domain}`]
  if (!entry) return undefined
  const token = entry.identitytoken ? {identityToken: entry.identitytoken} : {}
  if (entry.auth) return {...decode(entry.auth, domain), ...token}
  if (entry.username && entry.password) return {username: entry.username, password: entry.password, ...token}
  if (entry.identitytoken) return {username: entry.username ?? '', password: '', ...token}
  return undefined
}

/** Save credentials as `docker login` does (base64 `user:pass` under auths, or a helper). */
export function storeCredentials(domain: string, creds: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const path = dockerConfigPath(env)
  return withLock(`${path}.lock`, () => {
    const config = readJson<DockerConfig>(path, {})
    const key = authKey(domain)
    const helper = config.credHelpers?.[domain] ?? config.credsStore
    if (helper) {
      execFileSync(`docker-credential-${helper}`, ['store'], {input: JSON.stringify({ServerURL: key, Username: creds.username, Secret: creds.password})})
      config.auths = {...config.auths, [key]: {}}
    } else {
      config.auths = {...config.auths, [key]: {auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}}
    }
    writeConfig(path, config)
    return path
  })
}

/** Forget credentials; false when there were none. */
export function removeCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = dockerConfigPath(env)
  if (!existsSync(path)) return false
  return withLock(`${path}.lock`, () => {
    const config = readJson<DockerConfig>(path, {})
    const key = authKey(domain)
    const helper = config.credHelpers?.[domain] ?? config.credsStore
    const had = Boolean(config.auths?.[key])
    if (helper) {
      try {
        execFileSync(`docker-credential-${helper}`, ['erase'], {input: key, stdio: ['pipe', 'ignore', 'ignore']})
      } catch {
        // nothing stored there
      }
    }
    if (config.auths) delete config.auths[key]
    writeConfig(path, config)
    return had
  })
}
