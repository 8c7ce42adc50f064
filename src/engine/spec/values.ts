/**
 * Checks of the values that end up as lines of a container's /etc/resolv.conf, /etc/hosts
 * and /etc/hostname, in its labels or its environment (Docker's `opts` package rules and
 * messages, and stricter where Docker lets a newline through): one place for `run`/`create`
 * flags (which frame a message as Docker's `invalid argument "V" for "--FLAG" flag: …`),
 * compose (which names file:line) and the engine's own last check before it writes them.
 */
import {isUtf8} from 'node:buffer'

import {UsageError} from '../errors.js'
import {ContainerOptions} from './generate.js'

/** A value refused, with the reason in Docker's words (the caller says which flag or key). */
export class InvalidValue extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidValue'
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/** IPv6 in text (RFC 4291 section 2.2: groups, one `::`, a dotted IPv4 tail), no zone. */
function isIpv6(text: string): boolean {
  const halves = text.split('::')
  if (halves.length > 2) return false
  const groups = (half: string) => (half === '' ? [] : half.split(':'))
  const parts = halves.flatMap(groups)
  let count = parts.length
  const last = parts.at(-1)
  if (last !== undefined && last.includes('.')) {
    if (!IPV4.test(last)) return false
    parts.pop()
    count++
  }
  if (!parts.every((p) => /^[0-9a-fA-F]{1,4}$/.test(p))) return false
  return halves.length === 2 ? count <= 7 : count === 8
}

/** Go's net.ParseIP: dotted IPv4 (no leading zeros) or IPv6 without a zone. */
const GO_DURATION_UNITS: Record<string, number> = {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}

/**
 * Go's time.ParseDuration (`1m30s`, `500ms`, `0`), in nanoseconds; undefined when the text is
 * not one. The one parser behind the CLI's duration flags and Compose's duration fields.
 */
export function goDurationNs(text: string): number | undefined {
  if (text === '0') return 0
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let pos = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * GO_DURATION_UNITS[m[2]]
    pos = re.lastIndex
  }
  return pos === text.length && pos > 0 ? total : undefined
}

export function isIpAddress(text: string): boolean {
  return IPV4.test(text) || isIpv6(text)
}

/** `--dns`, compose `dns`: an IP address (Docker's ValidateIPAddress: surrounding spaces allowed, dropped). */
export function checkIpAddress(value: string): string {
  const ip = value.trim()
  if (!isIpAddress(ip)) throw new InvalidValue(`IP address is not correctly formatted: ${value}`)
  return ip
}

const DOMAIN = /^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*)\.?\s*$/

/** `--dns-search`, compose `dns_search`: a domain, or "." for none (Docker's ValidateDNSSearch). */
export function checkDnsSearch(value: string): string {
  const v = value.replace(/^ +| +$/g, '')
  if (v === '.') return v
  const m = DOMAIN.exec(v)
  if (!/[a-zA-Z]/.test(v) || !m || m[1].length >= 255) throw new InvalidValue(`${v} is not a valid domain`)
  return m[1]
}

/** `--dns-option`, compose `dns_opt`: one resolv.conf option (Docker takes any string; a space or newline would make others). */
export function checkDnsOption(value: string): string {
  if (/[\s\0]/.test(value)) throw new InvalidValue(`${JSON.stringify(value)} is not a valid DNS option: it contains whitespace`)
  return value
}

/** A name for /etc/hosts or /etc/hostname: no whitespace or control characters, nothing that starts a comment. */
function hostsName(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return value !== '' && !/[\s\0-\x1f\x7f#]/.test(value)
}

/**
 * `--add-host NAME:IP` (or `NAME=IP`, `NAME:[IPv6]`, `NAME:host-gateway`), compose
 * `extra_hosts` (Docker's ValidateExtraHost; the name is checked too, where Docker lets a
 * newline into /etc/hosts).
 */
export function parseExtraHost(value: string): {name: string; address: string} {
  let cut = value.indexOf('=')
  if (cut < 0) cut = value.indexOf(':')
  const name = cut < 0 ? '' : value.slice(0, cut)
  let address = value.slice(cut + 1)
  if (cut < 0 || name === '' || name.includes(':')) throw new InvalidValue(`bad format for add-host: ${JSON.stringify(value)}`)
  if (address !== 'host-gateway') {
    if (address.length > 2 && address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1)
    try {
      address = checkIpAddress(address)
    } catch {
      throw new InvalidValue(`invalid IP address in add-host: ${JSON.stringify(address)}`)
    }
  }
  if (!hostsName(name)) throw new InvalidValue(`invalid hostname in add-host: ${JSON.stringify(name)}`)
  return {name, address}
}

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/

/** `-h/--hostname`, compose `hostname`: at most 64 characters (the kernel's limit) of letters, digits, "-", "_" and ".". */
export function checkHostname(value: string): string {
  if (value.length > 64 || !HOSTNAME.test(value)) throw new InvalidValue(`invalid hostname ${JSON.stringify(value)}: use letters, digits, "-", "_" and "." (at most 64 characters)`)
  return value
}

/** `--domainname`, compose `domainname`. */
export function checkDomainname(value: string): string {
  if (value.length > 255 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*)?$/.test(value)) throw new InvalidValue(`invalid domainname ${JSON.stringify(value)}: use letters, digits, dots and hyphens (at most 255 characters)`)
  return value
}

/** A network alias (a name other containers find this one by, in their /etc/hosts). */
export function checkNetworkAlias(value: string): string {
  if (!hostsName(value)) throw new InvalidValue(`invalid network alias ${JSON.stringify(value)}: it contains whitespace or a control character`)
  return value
}

/** A label key (Docker's ValidateLabel; a newline or other control character is whitespace here too). */
export function checkLabelKey(key: string, entry = key): string {
  const k = key.replace(/^[ \t]+/, '')
  if (k === '') throw new InvalidValue(`invalid label '${entry}': empty name`)
  // eslint-disable-next-line no-control-regex
  if (/[\s\0-\x1f\x7f]/.test(k)) throw new InvalidValue(`label '${k}' contains whitespaces`)
  return key
}

/** An environment entry `KEY=VALUE` (or `KEY`): a name, and no NUL byte, which no process environment can hold. */
export function checkEnvEntry(entry: string): string {
  const eq = entry.indexOf('=')
  if (eq === 0 || entry === '') throw new InvalidValue(`invalid environment variable: ${entry}`)
  if (entry.includes('\0')) throw new InvalidValue(`invalid environment variable ${JSON.stringify(eq < 0 ? entry : entry.slice(0, eq))}: a NUL byte is not allowed`)
  return entry
}

/** The offset of the first byte that is not part of valid UTF-8 (undefined: all valid). */
export function invalidUtf8At(bytes: Uint8Array): number | undefined {
  if (isUtf8(bytes)) return undefined
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1
    if (need < 0 || i + need >= bytes.length) return i
    // The second byte's range depends on the first (no overlongs, no surrogates, nothing past U+10FFFF).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i
    }
    i += need + 1
  }
  return undefined
}

/** 1-based line of a byte offset. */
export function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++
  return line
}

/** A flag's value through a check, refused as Docker's CLI does: `invalid argument "V" for "--FLAG" flag: …` (exit 125). */
export function check<T>(flag: string, value: string, fn: (v: string) => T): T {
  try {
    return fn(value)
  } catch (error) {
    if (error instanceof InvalidValue) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${error.message}`)
    throw error
  }
}

/**
 * The engine's own check of what it is about to write into a container's /etc files, labels
 * and environment, whoever built the options (flags and compose check first, with their
 * own messages): a value that passed neither is refused here, never written.
 */
export function checkContainerValues(o: ContainerOptions): void {
  for (const v of o.dns ?? []) check('--dns', v, checkIpAddress)
  for (const v of o.dnsSearch ?? []) check('--dns-search', v, checkDnsSearch)
  for (const v of o.dnsOptions ?? []) check('--dns-option', v, checkDnsOption)
  // Resolved already: `ADDRESS\tNAME`.
  for (const line of o.addHosts ?? []) {
    const [address, name, ...rest] = line.split('\t')
    check('--add-host', `${name ?? ''}:${address}`, (v) => {
      if (rest.length > 0) throw new InvalidValue(`bad format for add-host: ${JSON.stringify(v)}`)
      return parseExtraHost(v)
    })
  }
  if (o.hostname !== undefined) check('-h, --hostname', o.hostname, checkHostname)
  if (o.domainname !== undefined) check('--domainname', o.domainname, checkDomainname)
  for (const v of o.networkAliases ?? []) check('--network-alias', v, checkNetworkAlias)
  for (const k of Object.keys(o.labels ?? {})) check('-l, --label', k, checkLabelKey)
  for (const e of o.env ?? []) check('-e, --env', e, checkEnvEntry)
}
