/**
 * A container's places on networks (`containers/<id>/network.json`): one endpoint per
 * network (an address from the network's IPAM, an interface eth0, eth1, … in the container),
 * `network connect`/`disconnect` on running and stopped containers, the runtime arguments
 * that attach a fresh namespace, and the /etc/hosts files that let members of a user-defined
 * network resolve each other.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {portBypass} from '../config.js'
import {Engine} from '../engine.js'
import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {recordObjectEvent} from '../events.js'
import {containerState} from '../container/state.js'
import {ContainerRecord} from '../container/store.js'
import {joinArgs} from '../rootless/session.js'
import {runtimeSync} from '../runtime.js'
import {readJson, withLock} from '../store/files.js'
import {inNetnsPath} from './netns.js'
import {DEFAULT_NETWORK, MTU, NetworkRecord, NetworksFile, PortSpec, ensureBridge, firstFree, hostAddress, inSubnet, ipToInt, loadNetworks, mutateNetworks, networksLockPath, parseCidr, resolveNetwork} from './networks.js'

/** The address slirp4netns gives tap0 in a namespace of its own (`--network slirp4netns`). */
export const SLIRP_GUEST = '10.0.2.100'

/** A container on one network. */
export interface Endpoint {
  network: string
  ip: string
  prefix: number
  gateway: string
  bridge: string
  aliases: string[]
  mac: string
  /** Its interface in the container: eth0, eth1, … */
  iface: string
}

/** `containers/<id>/network.json`. The first endpoint carries the default route and published ports. */
export interface ContainerNetwork {
  endpoints: Endpoint[]
  /** `--network slirp4netns`: its own slirp4netns instead of bridges. */
  slirp?: {hostLoopback: boolean}
  publish: PortSpec[]
  /** What the runtime actually bound (random ports resolved), while running. */
  ports?: PortSpec[]
}

/** What a container asks for on one network (`--network NAME`, `network connect`). */
export interface EndpointRequest {
  network: string
  aliases?: string[]
  ip?: string
  mac?: string
}

export function containerNetworkPath(engine: Engine, id: string): string {
  return join(engine.containers.dir(id), 'network.json')
}

/** The record as written before a container could be on several networks. */
interface SingleNetworkRecord {
  network: string
  ip: string
  prefix: number
  gateway: string
  bridge: string
  aliases: string[]
  publish: PortSpec[]
  ports?: PortSpec[]
}

export function readContainerNetwork(engine: Engine, id: string): ContainerNetwork | undefined {
  const raw = readJson<ContainerNetwork | SingleNetworkRecord | undefined>(containerNetworkPath(engine, id), undefined)
  if (!raw || 'endpoints' in raw) return raw
  const {network, ip, prefix, gateway, bridge, aliases, publish, ports} = raw
  return {endpoints: [{network, ip, prefix, gateway, bridge, aliases, mac: macFor(ip), iface: 'eth0'}], publish, ...(ports ? {ports} : {})}
}

/**
 * Part of the container's bundle: written atomically (rename) but without fsync, like the
 * bundle's other files; the durable record of addresses is the networks file.
 */
function writeContainerNetwork(engine: Engine, id: string, att: ContainerNetwork): void {
  const path = containerNetworkPath(engine, id)
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, JSON.stringify(att, null, 2) + '\n', {mode: 0o600})
  renameSync(tmp, path)
}

/** Docker's MAC address for an address: 02:42 and the four bytes of the IPv4 address. */
export function macFor(ip: string): string {
  const n = ipToInt(ip)
  return ['02', '42', ...[24, 16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString(16).padStart(2, '0'))].join(':')
}

/** `--mac-address`: six hex pairs, a unicast address. */
export function checkMac(mac: string): string {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new UsageError(`invalid MAC address ${JSON.stringify(mac)}: expected six hex pairs such as 02:42:ac:11:00:02`)
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) throw new UsageError(`invalid MAC address ${mac}: a multicast address cannot be given to an interface`)
  return mac.toLowerCase()
}

/** Does this mode give the container veths on bridges? */
export function isBridged(mode: string): boolean {
  return mode !== 'none' && mode !== 'host' && !mode.startsWith('container:') && !isSlirpMode(mode)
}

/** `--network slirp4netns[:allow_host_loopback=true]`. */
export function isSlirpMode(mode: string): boolean {
  return mode === 'slirp4netns' || mode.startsWith('slirp4netns:')
}

/** The options of `--network slirp4netns:OPT=V,…` (only allow_host_loopback is known). */
export function slirpOptions(mode: string): {hostLoopback: boolean} {
  const opts = mode.startsWith('slirp4netns:') ? mode.slice('slirp4netns:'.length).split(',').filter(Boolean) : []
  let hostLoopback = false
  for (const o of opts) {
    const [k, v = ''] = o.split('=')
    if (k === 'allow_host_loopback' && (v === 'true' || v === 'false')) hostLoopback = v === 'true'
    else if (k === 'port_handler' && v === 'ncx') continue
    else throw new UsageError(`unknown slirp4netns option ${JSON.stringify(o)}`, 'use --network slirp4netns[:allow_host_loopback=true|false]')
  }
  return {hostLoopback}
}

/**
 * Change the networks file; where the lazy collection dropped containers that are gone
 * (a detached `--rm` container removed by its monitor), their peers' /etc/hosts forget them.
 */
function mutate<T>(engine: Engine, fn: (file: NetworksFile) => T): T {
  const collected = new Set<string>()
  const out = mutateNetworks(engine, fn, collected)
  for (const n of collected) refreshNetworkHosts(engine, n)
  return out
}

function findIn(file: NetworksFile, name: string): NetworkRecord | undefined {
  const wanted = name === 'default' ? DEFAULT_NETWORK : name
  return file.networks[wanted] ?? Object.values(file.networks).find((n) => n.id === wanted || (wanted.length >= 3 && n.id.startsWith(wanted)))
}

/** Reserve an address on `net` (inside a networks-file mutation). */
function allocate(net: NetworkRecord, id: string, want: EndpointRequest, iface: string, containerName: string): Endpoint {
  if (want.aliases?.length && net.name === DEFAULT_NETWORK) throw new UsageError('network-scoped alias is supported only for containers in user defined networks')
  let ip = want.ip
  if (ip !== undefined) {
    if (!inSubnet(ip, net.subnet)) throw new UsageError(`address ${ip} is not in network ${net.name}'s subnet ${net.subnet}`)
    if (ip in net.allocations || ip === net.gateway) throw new NcxError(`address ${ip} is already in use on network ${net.name}`)
  } else {
    ip = firstFree(net)
  }
  if (!ip) throw new NcxError(`no free address left on network ${net.name} (${net.subnet})`)
  if (Object.values(net.allocations).includes(id)) throw new NcxError(`endpoint with name ${containerName} already exists in network ${net.name}`, {exitCode: 1})
  net.allocations[ip] = id
  return {network: net.name, ip, prefix: parseCidr(net.subnet).prefix, gateway: net.gateway, bridge: net.bridge, aliases: want.aliases ?? [], mac: want.mac ?? macFor(ip), iface}
}

/** The first interface name a container does not use yet. */
function freeIface(endpoints: Endpoint[]): string {
  for (let i = 0; ; i++) if (!endpoints.some((e) => e.iface === `eth${i}`)) return `eth${i}`
}

/** A new container's endpoints: an address on each network, recorded together. */
export function attachContainer(engine: Engine, id: string, name: string, wants: EndpointRequest[], publish: PortSpec[] = []): ContainerNetwork {
  const endpoints = mutate(engine, (file) => {
    const out: Endpoint[] = []
    for (const want of wants) {
      const net = findIn(file, want.network)
      if (!net) throw new NotFoundError(`network ${want.network} not found`)
      if (out.some((e) => e.network === net.name)) throw new UsageError(`network ${net.name} is given twice`)
      out.push(allocate(net, id, want, freeIface(out), name))
    }
    return out
  })
  const att: ContainerNetwork = {endpoints, publish}
  writeContainerNetwork(engine, id, att)
  return att
}

/** A `--network slirp4netns` container's record (no endpoint: no bridge, no IPAM). */
export function recordSlirpContainer(engine: Engine, id: string, mode: string, publish: PortSpec[] = []): ContainerNetwork {
  const att: ContainerNetwork = {endpoints: [], slirp: slirpOptions(mode), publish}
  writeContainerNetwork(engine, id, att)
  return att
}

/**
 * Give back a container's addresses (on removal; removed containers are also collected
 * lazily), and drop it from its peers' /etc/hosts.
 */
export function releaseContainer(engine: Engine, id: string): void {
  // (read before mutating: the lazy collection would already drop a removed container)
  const left = Object.values(loadNetworks(engine).networks)
    .filter((n) => Object.values(n.allocations).includes(id))
    .map((n) => n.name)
  mutate(engine, (file) => {
    for (const net of Object.values(file.networks)) {
      for (const [ip, owner] of Object.entries(net.allocations)) if (owner === id) delete net.allocations[ip]
    }
  })
  for (const name of left) refreshNetworkHosts(engine, name)
}

/** `--network container:NAME`: the other container, which must be running. */
export function runningPeer(engine: Engine, nameOrId: string): {id: string; pid: number; dir: string} {
  const rec = engine.containers.resolve(nameOrId)
  const st = containerState(engine.containers, rec)
  if (st.status !== 'running' || st.pid <= 0) throw new NcxError(`cannot join the network of container ${rec.name}: it is not running`)
  return {id: rec.id, pid: st.pid, dir: engine.containers.dir(rec.id)}
}

/** Whether two host addresses of one port clash: the same, or a wildcard of the same family (`[::]` is IPv6 only). */
export function sameHostAddress(a: string, b: string): boolean {
  if (a.includes(':') !== b.includes(':')) return false
  return a === b || a === '0.0.0.0' || b === '0.0.0.0' || a === '::' || b === '::'
}

/** A running ncx container already publishing `p`'s host port (Docker: "port is already allocated"). */
function portOwner(engine: Engine, self: string, p: PortSpec): {name: string; id: string} | undefined {
  if (p.hostPort === 0) return undefined
  for (const rec of engine.containers.list()) {
    if (rec.id === self) continue
    const other = readContainerNetwork(engine, rec.id)
    const clash = (other?.ports ?? []).some(
      (q) => q.proto === p.proto && q.hostPort === p.hostPort && sameHostAddress(q.hostIp, p.hostIp),
    )
    if (clash && containerState(engine.containers, rec).status === 'running') return {name: rec.name, id: rec.id}
  }
  return undefined
}

/** `--net-ifs` for the runtime: `IFNAME,BRIDGE,ADDRESS/N,GATEWAY,MAC;…` (GATEWAY only where the default route goes). */
function ifaceSpec(endpoints: Endpoint[], defaultRoute: boolean): string {
  return endpoints.map((e, i) => [e.iface, e.bridge, `${e.ip}/${e.prefix}`, defaultRoute && i === 0 ? e.gateway : '', e.mac].join(',')).join(';')
}

/**
 * The command the monitor of a detached container on a user-defined network runs once the
 * container is gone (stopped, or removed with `--rm`): its peers' /etc/hosts forget it, as
 * Docker's do when a container stops.
 */
function exitCommand(engine: Engine, id: string): string[] {
  const cli = process.argv[1]
  if (!cli) return []
  return ['--exit-command', JSON.stringify([process.execPath, cli, 'network', 'release', '--root', engine.paths.data, id])]
}

/** Runtime arguments that attach a container's fresh network namespace and publish its ports. */
export function networkRuntimeArgs(engine: Engine, id: string): string[] {
  const rec = engine.containers.find(id)
  const mode = rec?.options.network ?? ''
  if (mode.startsWith('container:')) return ['--net-join', `/proc/${runningPeer(engine, mode.slice('container:'.length)).pid}/ns/net`]
  const att = readContainerNetwork(engine, id)
  if (!att) return []
  for (const p of att.publish) {
    const owner = portOwner(engine, id, p)
    if (owner) throw new NcxError(`cannot publish ${hostAddress(p)}/${p.proto}: the port is already allocated by container ${owner.name} (${owner.id.slice(0, 12)})`)
  }
  const args: string[] = []
  let target: string | undefined
  if (att.slirp) {
    args.push('--net-slirp', `host-loopback=${att.slirp.hostLoopback ? 1 : 0}`)
    target = SLIRP_GUEST
  } else if (att.endpoints.length > 0) {
    let netnsPath = ''
    for (const e of att.endpoints) netnsPath = ensureBridge(engine, resolveNetwork(engine, e.network)).path
    args.push('--net-netns', netnsPath, '--net-ifs', ifaceSpec(att.endpoints, true), '--net-mtu', String(MTU))
    target = att.endpoints[0].ip
  }
  if (target && att.publish.length > 0) {
    args.push('--publish', att.publish.map((p) => `${p.proto}:${p.hostIp === '0.0.0.0' ? '' : p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}:${target}:${p.containerPort}`).join(','))
    if (att.publish.some((p) => p.proto === 'tcp') && (rec?.options.portBypass ?? portBypass(engine.paths.settings?.config ?? {}).value)) args.push('--port-bypass', '1')
  }
  const named = att.endpoints.filter((e) => e.network !== DEFAULT_NETWORK)
  if (named.length > 0) args.push(...exitCommand(engine, id))
  // Starting: its peers resolve it again (a stopped container is left out of their /etc/hosts).
  for (const e of named) refreshNetworkHosts(engine, e.network, id)
  return args
}

/** Record what the runtime bound (called after a start). */
export function recordPorts(engine: Engine, id: string, ports: Array<{proto: string; hostIp: string; hostPort: number; containerPort: number}> | undefined): void {
  const att = readContainerNetwork(engine, id)
  if (!att || !ports || ports.length === 0) return
  att.ports = ports.map((p) => ({proto: p.proto === 'udp' ? 'udp' : 'tcp', hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort}))
  writeContainerNetwork(engine, id, att)
}

// ---------------------------------------------------------------------------------------
// network connect / disconnect

/** Docker's refusals for containers whose network mode has no bridges. */
function checkConnectable(rec: ContainerRecord, network: string): void {
  const mode = rec.options.network
  if (mode === 'host') throw new NcxError('container cannot be disconnected from host network or connected to host network', {exitCode: 1})
  if (mode === 'none') throw new NcxError('container cannot be connected to multiple networks with one of the networks in private (none) mode', {exitCode: 1})
  if (mode.startsWith('container:')) throw new NcxError('conflicting options: container type network can\'t be used with other networks', {exitCode: 1})
  if (isSlirpMode(mode)) throw new NcxError(`container ${rec.name} uses --network slirp4netns and cannot be connected to network ${network}`, {exitCode: 1})
}

/** The pid of a running container, else 0. */
function runningPid(engine: Engine, rec: ContainerRecord): number {
  const st = containerState(engine.containers, rec)
  return st.status === 'running' && st.pid > 0 ? st.pid : 0
}

/** `network connect [--alias A] [--ip IP] NETWORK CONTAINER`: running containers get the interface at once. */
export function connectContainer(engine: Engine, network: string, container: string, want: {aliases?: string[]; ip?: string} = {}): Endpoint {
  const rec = engine.containers.resolve(container)
  const net = resolveNetwork(engine, network)
  if (net.name === 'host' || net.name === 'none') throw new UsageError(`cannot connect to network ${net.name}`)
  checkConnectable(rec, net.name)
  if (want.ip !== undefined) ipToInt(want.ip)
  const att = readContainerNetwork(engine, rec.id) ?? {endpoints: [], publish: []}
  if (att.endpoints.some((e) => e.network === net.name)) throw new NcxError(`endpoint with name ${rec.name} already exists in network ${net.name}`, {exitCode: 1})
  const ep = mutate(engine, (file) => {
    const cur = file.networks[net.name]
    if (!cur) throw new NotFoundError(`network ${network} not found`)
    return allocate(cur, rec.id, {network: net.name, aliases: want.aliases, ip: want.ip}, freeIface(att.endpoints), rec.name)
  })
  const first = att.endpoints.length === 0
  const pid = runningPid(engine, rec)
  try {
    if (pid > 0) {
      const netns = ensureBridge(engine, net)
      runtimeSync(['net-attach', ...joinArgs(engine.session()), '--net-netns', netns.path, '--pid', String(pid), '--net-ifs', ifaceSpec([ep], first), '--net-mtu', String(MTU)])
    }
  } catch (error) {
    mutate(engine, (file) => {
      const cur = file.networks[net.name]
      if (cur && cur.allocations[ep.ip] === rec.id) delete cur.allocations[ep.ip]
    })
    throw error
  }
  writeContainerNetwork(engine, rec.id, {...att, endpoints: [...att.endpoints, ep]})
  refreshNetworkHosts(engine, net.name)
  if (first) refreshContainerHosts(engine, rec.id)
  recordObjectEvent(engine.paths, 'network', 'connect', net.id, {container: rec.id, name: net.name, type: net.driver})
  return ep
}

/** `network disconnect [-f] NETWORK CONTAINER`: a running container loses the interface at once. */
export function disconnectContainer(engine: Engine, network: string, container: string, force = false): void {
  const rec = engine.containers.find(container)
  const net = resolveNetwork(engine, network)
  if (!rec) {
    // -f: drop the endpoint of a container that no longer exists.
    if (force) {
      const dropped = mutate(engine, (file) => {
        const cur = file.networks[net.name]
        const owners: string[] = []
        for (const [ip, owner] of Object.entries(cur?.allocations ?? {})) {
          if (owner === container || (container.length >= 3 && owner.startsWith(container))) {
            delete cur!.allocations[ip]
            owners.push(owner)
          }
        }
        return owners
      })
      refreshNetworkHosts(engine, net.name)
      for (const owner of new Set(dropped)) recordObjectEvent(engine.paths, 'network', 'disconnect', net.id, {container: owner, name: net.name, type: net.driver})
      return
    }
    throw new NotFoundError(`No such container: ${container}`)
  }
  const att = readContainerNetwork(engine, rec.id)
  const ep = att?.endpoints.find((e) => e.network === net.name)
  if (!att || !ep) throw new NcxError(`container ${rec.id} is not connected to network ${net.name}`, {exitCode: 1})
  const rest = att.endpoints.filter((e) => e !== ep)
  const pid = runningPid(engine, rec)
  if (pid > 0) {
    // Deleting one end of a veth pair deletes both: nothing stays on the bridge.
    let cmds = `link del ${ep.iface}\n`
    if (att.endpoints[0] === ep && rest.length > 0) cmds += `route replace default via ${rest[0].gateway} dev ${rest[0].iface}\n`
    inNetnsPath(engine, `/proc/${pid}/ns/net`, ['ip', '-batch', '-'], cmds)
  }
  writeContainerNetwork(engine, rec.id, {...att, endpoints: rest})
  mutate(engine, (file) => {
    const cur = file.networks[net.name]
    if (cur && cur.allocations[ep.ip] === rec.id) delete cur.allocations[ep.ip]
  })
  refreshNetworkHosts(engine, net.name)
  refreshContainerHosts(engine, rec.id)
  recordObjectEvent(engine.paths, 'network', 'disconnect', net.id, {container: rec.id, name: net.name, type: net.driver})
}

// ---------------------------------------------------------------------------------------
// /etc/hosts

const HOSTS_BASE = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters']

/** /etc/hosts for a container: itself, `--add-host` entries, and (user-defined networks) its peers. */
export function hostsContent(self: {ip: string; hostname: string; name?: string; aliases?: string[]}, extra: string[], peers: Array<{ip: string; names: string[]}>): string {
  const lines = [...HOSTS_BASE, ...extra]
  const own = [self.hostname, ...(self.name && self.name !== self.hostname ? [self.name] : []), ...(self.aliases ?? [])]
  lines.push(`${self.ip}\t${[...new Set(own)].join(' ')}`)
  for (const p of peers) if (p.names.length > 0 && p.ip !== self.ip) lines.push(`${p.ip}\t${p.names.join(' ')}`)
  return lines.join('\n') + '\n'
}

/** The /etc/hosts a container should have now (undefined: not a networked container ncx manages). */
/** Whether a peer belongs in /etc/hosts: running (or restarting), or the one being started. */
function resolvable(engine: Engine, peer: ContainerRecord, starting: string | undefined): boolean {
  if (peer.id === starting) return true
  const status = containerState(engine.containers, peer).status
  return status === 'running' || status === 'restarting'
}

function hostsFor(engine: Engine, file: NetworksFile, id: string, starting?: string): string | undefined {
  const rec = engine.containers.find(id)
  const att = readContainerNetwork(engine, id)
  if (!rec || !att) return undefined
  const hostname = rec.config?.hostname ?? id.slice(0, 12)
  const first = att.endpoints[0]
  const userDefined = first !== undefined && first.network !== DEFAULT_NETWORK
  const self = {ip: first?.ip ?? (att.slirp ? SLIRP_GUEST : '127.0.1.1'), hostname, name: userDefined ? rec.name : undefined, aliases: userDefined ? first.aliases : []}
  const peers: Array<{ip: string; names: string[]}> = []
  for (const ep of att.endpoints) {
    if (ep.network === DEFAULT_NETWORK) continue
    if (ep !== first && ep.aliases.length > 0) peers.push({ip: ep.ip, names: ep.aliases})
    for (const [ip, other] of Object.entries(file.networks[ep.network]?.allocations ?? {})) {
      if (other === id) continue
      const peer = engine.containers.find(other)
      if (!peer || !resolvable(engine, peer, starting)) continue
      const aliases = readContainerNetwork(engine, other)?.endpoints.find((e) => e.network === ep.network)?.aliases ?? []
      peers.push({ip, names: [...new Set([peer.name, ...aliases, other.slice(0, 12)])]})
    }
  }
  const links = linkHostLines(engine, rec, rec.options.links ?? [], att.endpoints.map((e) => e.network), false)
  return hostsContent(self, [...(rec.options.addHosts ?? []), ...links], peers)
}

/**
 * `--link NAME[:ALIAS]`, Docker's legacy links: /etc/hosts lines for NAME's address on a
 * network the two share, under ALIAS, NAME and NAME's short ID. With `strict` (at creation),
 * Docker's errors for a missing, stopped or unreachable NAME; later rewrites skip those.
 */
export function linkHostLines(engine: Engine, self: {id: string; name: string}, links: ReadonlyArray<{name: string; alias: string}>, networks: readonly string[], strict: boolean): string[] {
  const lines: string[] = []
  for (const link of links) {
    const peer = engine.containers.find(link.name)
    if (!peer) {
      if (strict) throw new UsageError(`could not get container for ${link.name}: No such container: ${link.name}`)
      continue
    }
    if (!resolvable(engine, peer, undefined)) {
      if (strict) throw new UsageError(`Cannot link to a non running container: /${peer.name} AS /${self.name}/${link.alias}`, `start ${peer.name} first`)
      continue
    }
    const ep = readContainerNetwork(engine, peer.id)?.endpoints.find((e) => networks.includes(e.network))
    if (!ep) {
      if (strict) throw new UsageError(`Cannot link to /${peer.name}, as it does not belong to the ${networks[0]} network`, `connect it (ncx network connect ${networks[0]} ${peer.name}) or run on one of its networks`)
      continue
    }
    lines.push(`${ep.ip}\t${[...new Set([link.alias, peer.name, peer.id.slice(0, 12)])].join(' ')}`)
  }
  return lines
}

/** Rewrite one container's /etc/hosts in place (same inode: a running container sees the new content). */
function writeHosts(engine: Engine, file: NetworksFile, id: string, starting?: string): void {
  const text = hostsFor(engine, file, id, starting)
  if (text === undefined) return
  const path = join(engine.containers.dir(id), 'hosts')
  // The file is bind-mounted into a running container, so it is rewritten in place (a rename
  // would leave the mount on the old inode) and a process reading it mid-rewrite sees it empty:
  // a container's own refresh right after its start (announceStarted) made `ping peer` in it
  // fail with "bad address". Unchanged content is therefore not written at all.
  try {
    if (readFileSync(path, 'utf8') === text) return
  } catch {
    // not written yet
  }
  try {
    writeFileSync(path, text)
  } catch {
    // removed meanwhile
  }
}

/**
 * Rewrite /etc/hosts of every container on a user-defined network so that they resolve
 * each other by name and alias. The default bridge has no name resolution, as in Docker.
 */
export function refreshNetworkHosts(engine: Engine, network: string, starting?: string): void {
  if (network === DEFAULT_NETWORK) return
  withLock(networksLockPath(engine), () => {
    const file = loadNetworks(engine)
    for (const id of new Set(Object.values(file.networks[network]?.allocations ?? {}))) writeHosts(engine, file, id, starting)
  })
}

/**
 * A container is running: every /etc/hosts on its user-defined networks is written again.
 * The refresh before the start (networkRuntimeArgs) cannot see a peer that is starting at the
 * same moment (compose starts services in parallel) as running; whichever of the two
 * refreshes after both are up sees both.
 */
export function announceStarted(engine: Engine, id: string): void {
  for (const e of readContainerNetwork(engine, id)?.endpoints ?? []) refreshNetworkHosts(engine, e.network, id)
}

/** A container stopped: the peers on its user-defined networks forget it (its addresses stay reserved). */
export function forgetStoppedContainer(engine: Engine, id: string): void {
  const on = Object.values(loadNetworks(engine).networks)
    .filter((n) => Object.values(n.allocations).includes(id))
    .map((n) => n.name)
  for (const name of on) refreshNetworkHosts(engine, name)
}

/** Rewrite one container's /etc/hosts (after it left a network). */
export function refreshContainerHosts(engine: Engine, id: string): void {
  withLock(networksLockPath(engine), () => writeHosts(engine, loadNetworks(engine), id))
}
