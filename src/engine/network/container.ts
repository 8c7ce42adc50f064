/** The hooks container creation and start use (see run.ts and lifecycle.ts). */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {UsageError} from '../errors.js'
import {ContainerOptions} from '../spec/generate.js'
import {SLIRP_GUEST, attachContainer, hostsContent, isBridged, isSlirpMode, linkHostLines, readContainerNetwork, recordSlirpContainer, runningPeer} from './attach.js'
import {requireNetworkBackend} from './netns.js'
import {DEFAULT_NETWORK, SLIRP_DNS, findNetwork, formatPorts} from './networks.js'

export {networkRuntimeArgs, recordPorts, refreshNetworkHosts, releaseContainer} from './attach.js'

/** `-P`: every port the image EXPOSEs that `-p` did not publish gets a random host port. */
export function withExposedPorts(options: ContainerOptions, exposed: Record<string, object> | null | undefined): ContainerOptions {
  if (!options.publishAll || (!exposed && !options.expose)) return options
  const publish = [...(options.publish ?? [])]
  for (const key of [...Object.keys(exposed ?? {}), ...(options.expose ?? [])]) {
    const [num, proto = 'tcp'] = key.split('/')
    const port = Number(num)
    if (!Number.isInteger(port) || port <= 0 || port > 65535 || (proto !== 'tcp' && proto !== 'udp')) continue
    if (publish.some((p) => p.containerPort === port && p.proto === proto)) continue
    publish.push({proto, hostIp: '0.0.0.0', hostPort: 0, containerPort: port})
  }
  return {...options, publish}
}

/** The annotations that switch port bypass per container (docs/networking.md, "Port bypass"): ncx's own and nerdctl's. */
export const PORT_BYPASS_ANNOTATIONS = ['ncx.bypass4netns', 'nerdctl/bypass4netns'] as const

/**
 * `--annotation ncx.bypass4netns=true|false` (or nerdctl's `nerdctl/bypass4netns`) →
 * ContainerOptions.portBypass; undefined when neither is given (NCX_PORT_BYPASS / ncx.toml
 * decide). Values as Go's strconv.ParseBool takes them, as nerdctl does.
 */
export function portBypassAnnotation(annotations: Record<string, string> | undefined): boolean | undefined {
  for (const key of PORT_BYPASS_ANNOTATIONS) {
    const v = annotations?.[key]
    if (v === undefined) continue
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false
    throw new UsageError(`invalid annotation ${key}=${v}: must be true or false`, `use --annotation ${key}=true`)
  }
  return undefined
}

/** resolv.conf from `--dns*` flags over a base (slirp4netns' resolver or the host's file). */
export function resolvContent(base: string, o: Pick<ContainerOptions, 'dns' | 'dnsSearch' | 'dnsOptions'>): string {
  if (!o.dns?.length && !o.dnsSearch?.length && !o.dnsOptions?.length) return base
  const keep = base.split('\n').filter((l) => l.trim() !== '')
  const servers = o.dns?.length ? o.dns.map((d) => `nameserver ${d}`) : keep.filter((l) => /^\s*nameserver\s/.test(l))
  const search = o.dnsSearch?.length ? [`search ${o.dnsSearch.join(' ')}`] : keep.filter((l) => /^\s*search\s/.test(l))
  const options = o.dnsOptions?.length ? [`options ${o.dnsOptions.join(' ')}`] : keep.filter((l) => /^\s*options\s/.test(l))
  return [...search, ...servers, ...options].join('\n') + '\n'
}

/**
 * For a new container: reserve its address (bridged modes) and return the /etc/hosts and
 * /etc/resolv.conf it gets (undefined: keep the defaults already written).
 */
export function containerEtcFiles(
  engine: Engine,
  container: {id: string; name: string},
  options: ContainerOptions,
  hostname: string,
  hostResolv: string,
): {hosts?: string; resolvConf?: string; network?: string; networks?: string[]} {
  const extra = options.addHosts ?? []
  if (options.network.startsWith('container:')) {
    // Docker's container mode: the other container's network, /etc/hosts and resolv.conf.
    const peer = runningPeer(engine, options.network.slice('container:'.length))
    const read = (f: string) => readFileSync(join(peer.dir, f), 'utf8')
    return {hosts: read('hosts'), resolvConf: read('resolv.conf')}
  }
  if (isBridged(options.network) || isSlirpMode(options.network)) requireNetworkBackend(engine, options.network)
  if (isBridged(options.network)) {
    const wants = [options.network, ...(options.networks ?? [])].map((network, i) => ({
      network,
      aliases: options.networkAliases,
      ...(i === 0 && options.ip !== undefined ? {ip: options.ip} : {}),
      ...(i === 0 && options.macAddress !== undefined ? {mac: options.macAddress} : {}),
    }))
    const att = attachContainer(engine, container.id, container.name, wants, options.publish)
    const first = att.endpoints[0]
    const userDefined = first.network !== DEFAULT_NETWORK
    const links = linkHostLines(engine, container, options.links ?? [], att.endpoints.map((e) => e.network), true)
    return {
      hosts: hostsContent({ip: first.ip, hostname, name: userDefined ? container.name : undefined, aliases: userDefined ? first.aliases : []}, [...extra, ...links], []),
      resolvConf: resolvContent(`nameserver ${SLIRP_DNS}\n`, options),
      network: first.network,
      networks: att.endpoints.map((e) => e.network),
    }
  }
  if (isSlirpMode(options.network)) {
    recordSlirpContainer(engine, container.id, options.network, options.publish)
    return {hosts: hostsContent({ip: SLIRP_GUEST, hostname}, extra, []), resolvConf: resolvContent(`nameserver ${SLIRP_DNS}\n`, options)}
  }
  return {
    hosts: extra.length > 0 ? hostsContent({ip: '127.0.1.1', hostname}, extra, []) : undefined,
    resolvConf: options.dns?.length || options.dnsSearch?.length || options.dnsOptions?.length ? resolvContent(hostResolv, options) : undefined,
  }
}

/** ps's PORTS text for a container (only while it runs, as Docker). */
export function portsColumn(engine: Engine, id: string, running: boolean): string {
  const att = readContainerNetwork(engine, id)
  if (!att || !running) return ''
  return formatPorts(att.ports ?? att.publish)
}

/** Docker's `NetworkSettings` for inspect. */
export function networkSettings(engine: Engine, id: string, mode: string, running: boolean): Record<string, unknown> {
  const att = readContainerNetwork(engine, id)
  const ports: Record<string, Array<{HostIp: string; HostPort: string}> | null> = {}
  for (const p of att?.ports ?? att?.publish ?? []) {
    const key = `${p.containerPort}/${p.proto}`
    ;(ports[key] ??= []).push({HostIp: p.hostIp, HostPort: running ? String(p.hostPort) : ''})
  }
  const networks: Record<string, unknown> = {}
  for (const e of att?.endpoints ?? []) {
    networks[e.network] = {Aliases: e.aliases, NetworkID: findNetwork(engine, e.network)?.id ?? '', EndpointID: '', Gateway: e.gateway, IPAddress: e.ip, IPPrefixLen: e.prefix, MacAddress: e.mac}
  }
  if (Object.keys(networks).length === 0 && !(att && !att.slirp)) networks[mode] = {NetworkID: '', EndpointID: '', Gateway: '', IPAddress: att?.slirp ? SLIRP_GUEST : '', IPPrefixLen: att?.slirp ? 24 : 0, MacAddress: ''}
  const first = att?.endpoints[0]
  return {
    Bridge: '',
    SandboxID: '',
    Ports: ports,
    SandboxKey: '',
    Gateway: first?.gateway ?? '',
    IPAddress: first?.ip ?? (att?.slirp ? SLIRP_GUEST : ''),
    IPPrefixLen: first?.prefix ?? (att?.slirp ? 24 : 0),
    MacAddress: first?.mac ?? '',
    Networks: networks,
  }
}
