/**
 * Networks (Docker's bridge driver, inside the per-user network namespace): the registry
 * in `networks.json`, IPAM under `locks/networks.lock`, bridges and nftables rules, and a
 * container's attachment (`containers/<id>/network.json`).
 */
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Engine} from '../engine.js'
import {NcxError, NotFoundError, UsageError} from '../errors.js'
import {recordObjectEvent} from '../events.js'
import {isIpAddress} from '../spec/values.js'
import {readJson, withLock, writeJson} from '../store/files.js'
import {Netns, currentNetns, ensureNetns, inNetns} from './netns.js'

export const DEFAULT_NETWORK = 'bridge'
export const MTU = 65520
/** slirp4netns' fixed addresses inside the per-user namespace. */
export const SLIRP_DNS = '10.0.2.3'
export const SLIRP_HOST = '10.0.2.2'

export interface NetworkRecord {
  id: string
  name: string
  driver: 'bridge'
  subnet: string
  gateway: string
  /** The Linux bridge in the per-user network namespace. */
  bridge: string
  internal: boolean
  labels: Record<string, string>
  created: string
  /** address → container id */
  allocations: Record<string, string>
}

export interface NetworksFile {
  networks: Record<string, NetworkRecord>
}

/** `-p [ip:][hostPort:]containerPort[/proto]`, parsed. hostPort 0: a random port. */
export interface PortSpec {
  proto: 'tcp' | 'udp'
  hostIp: string
  hostPort: number
  containerPort: number
}

// ---------------------------------------------------------------------------------------
// IPv4 arithmetic

export function ipToInt(ip: string): number {
  const p = ip.split('.')
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) throw new UsageError(`invalid IPv4 address ${JSON.stringify(ip)}`)
  return p.reduce((acc, x) => acc * 256 + Number(x), 0)
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

export function parseCidr(cidr: string): {base: number; prefix: number; size: number} {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr)
  // (Go's net.ParseCIDR's message for what is no CIDR at all, as Docker prints it)
  if (!m) throw new UsageError(`invalid CIDR address: ${cidr}`, 'use A.B.C.D/N with 8 ≤ N ≤ 30, e.g. 10.89.5.0/24')
  if (Number(m[2]) > 30 || Number(m[2]) < 8) throw new UsageError(`invalid subnet ${JSON.stringify(cidr)}: expected A.B.C.D/N with 8 ≤ N ≤ 30`)
  const prefix = Number(m[2])
  const size = 2 ** (32 - prefix)
  const base = ipToInt(m[1])
  if (base % size !== 0) throw new UsageError(`invalid subnet ${JSON.stringify(cidr)}: host bits set (did you mean ${intToIp(base - (base % size))}/${prefix}?)`)
  return {base, prefix, size}
}

export function inSubnet(ip: string, cidr: string): boolean {
  const {base, size} = parseCidr(cidr)
  const n = ipToInt(ip)
  return n >= base && n < base + size
}

/** The first free address (not network, broadcast, gateway or taken). */
export function firstFree(net: Pick<NetworkRecord, 'subnet' | 'gateway' | 'allocations'>): string | undefined {
  const {base, size} = parseCidr(net.subnet)
  const gw = ipToInt(net.gateway)
  for (let n = base + 1; n < base + size - 1; n++) {
    if (n === gw) continue
    const ip = intToIp(n)
    if (!(ip in net.allocations)) return ip
  }
  return undefined
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a)
  const y = parseCidr(b)
  return x.base < y.base + y.size && y.base < x.base + x.size
}

// ---------------------------------------------------------------------------------------
// The registry

function networksPath(engine: Engine): string {
  return join(engine.paths.data, 'networks.json')
}

export function networksLockPath(engine: Engine): string {
  return join(engine.paths.data, 'locks', 'networks.lock')
}

function defaultNetwork(): NetworkRecord {
  return {
    // A fixed ID, the same for every store.
    id: createHash('sha256').update('ncx default bridge network').digest('hex'),
    name: DEFAULT_NETWORK,
    driver: 'bridge',
    subnet: '10.88.0.0/16',
    gateway: '10.88.0.1',
    bridge: 'ncx0',
    internal: false,
    labels: {},
    created: new Date(0).toISOString(),
    allocations: {},
  }
}

export function loadNetworks(engine: Engine): NetworksFile {
  const file = readJson<NetworksFile>(networksPath(engine), {networks: {}})
  file.networks[DEFAULT_NETWORK] ??= defaultNetwork()
  return file
}

/**
 * Drop allocations whose container no longer exists (removed, or `--rm` after exit) or was
 * left half-made by a killed `create`/`run` (store.ts: it never runs, and is removed by the
 * next create); `collected` gets their networks.
 */
function collect(engine: Engine, file: NetworksFile, collected?: Set<string>): void {
  for (const net of Object.values(file.networks)) {
    for (const [ip, id] of Object.entries(net.allocations)) {
      if (!existsSync(engine.containers.dir(id)) || engine.containers.abandoned(id)) {
        delete net.allocations[ip]
        collected?.add(net.name)
      }
    }
  }
}

/** Read-modify-write the networks file under its lock (stale allocations collected first). */
export function mutateNetworks<T>(engine: Engine, fn: (file: NetworksFile) => T, collected?: Set<string>): T {
  return withLock(networksLockPath(engine), () => {
    const file = loadNetworks(engine)
    const before = JSON.stringify(file)
    collect(engine, file, collected)
    const out = fn(file)
    // (unchanged, as when a container without a network is removed: no atomic write and fsync)
    if (JSON.stringify(file) !== before) writeJson(networksPath(engine), file)
    return out
  })
}

export function listNetworks(engine: Engine): NetworkRecord[] {
  const file = loadNetworks(engine)
  collect(engine, file)
  return Object.values(file.networks).sort((a, b) => (a.name === DEFAULT_NETWORK ? -1 : b.name === DEFAULT_NETWORK ? 1 : a.name.localeCompare(b.name)))
}

/**
 * Docker's predefined networks besides bridge: `host` and `none` are network modes with no
 * record (nothing to allocate); listed and inspected as Docker shows them, with a fixed ID.
 */
export interface PredefinedNetwork {
  id: string
  name: 'host' | 'none'
  driver: 'host' | 'null'
}

// (sha256 of `ncx predefined network NAME`, written out: the run fast path loads no node:crypto)
export const PREDEFINED_NETWORKS: readonly PredefinedNetwork[] = [
  {id: '209ed9b04261a70b216accea88e3bcc3e4d2dc37799de66306caf43b86f441c6', name: 'host', driver: 'host'},
  {id: 'bc94f9a318a2b8f9a3bc9a2b296ac433511effd6f6e4ca4ae98fbf9ce14d910d', name: 'none', driver: 'null'},
]

export function findPredefinedNetwork(nameOrId: string): PredefinedNetwork | undefined {
  return PREDEFINED_NETWORKS.find((n) => n.name === nameOrId || n.id === nameOrId || (nameOrId.length >= 3 && n.id.startsWith(nameOrId)))
}

export function findNetwork(engine: Engine, nameOrId: string): NetworkRecord | undefined {
  const all = listNetworks(engine)
  return all.find((n) => n.name === nameOrId) ?? all.find((n) => n.id === nameOrId) ?? (nameOrId.length >= 3 ? all.find((n) => n.id.startsWith(nameOrId)) : undefined)
}

export function resolveNetwork(engine: Engine, nameOrId: string): NetworkRecord {
  const n = findNetwork(engine, nameOrId)
  if (!n) throw new NotFoundError(`network ${nameOrId} not found`)
  return n
}

export interface CreateNetworkOptions {
  name: string
  subnet?: string
  gateway?: string
  internal?: boolean
  labels?: Record<string, string>
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function createNetwork(engine: Engine, o: CreateNetworkOptions): NetworkRecord {
  if (!NAME_PATTERN.test(o.name)) throw new UsageError(`invalid network name ${JSON.stringify(o.name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`)
  if (['none', 'host', 'default'].includes(o.name)) throw new UsageError(`network name ${o.name} is reserved`)
  const created = mutateNetworks(engine, (file) => {
    if (file.networks[o.name]) throw new NcxError(`network with name ${o.name} already exists`, {exitCode: 1})
    const taken = Object.values(file.networks).map((n) => n.subnet)
    let subnet = o.subnet
    if (subnet) {
      parseCidr(subnet)
      const clash = Object.values(file.networks).find((n) => overlaps(n.subnet, subnet!))
      if (clash) throw new NcxError(`subnet ${subnet} overlaps with network ${clash.name} (${clash.subnet})`)
      if (overlaps(subnet, '10.0.2.0/24')) throw new NcxError(`subnet ${subnet} overlaps with slirp4netns' 10.0.2.0/24`)
    } else {
      for (let i = 0; i < 256 && !subnet; i++) {
        const candidate = `10.89.${i}.0/24`
        if (!taken.some((t) => overlaps(t, candidate))) subnet = candidate
      }
      if (!subnet) throw new NcxError('no free subnet left in 10.89.0.0/16: give one with --subnet')
    }
    const {base, size} = parseCidr(subnet)
    const gateway = o.gateway ?? intToIp(base + 1)
    if (!inSubnet(gateway, subnet) || ipToInt(gateway) === base || ipToInt(gateway) === base + size - 1) throw new UsageError(`gateway ${gateway} is not a host address of subnet ${subnet}`)
    const id = randomBytes(32).toString('hex')
    const rec: NetworkRecord = {
      id,
      name: o.name,
      driver: 'bridge',
      subnet,
      gateway,
      bridge: `br-${id.slice(0, 12)}`,
      internal: o.internal ?? false,
      labels: o.labels ?? {},
      created: new Date().toISOString(),
      allocations: {},
    }
    file.networks[o.name] = rec
    return rec
  })
  recordObjectEvent(engine.paths, 'network', 'create', created.id, {name: created.name, type: created.driver})
  return created
}

/** Remove a network no container is attached to; its bridge goes with it. */
export function removeNetwork(engine: Engine, nameOrId: string): NetworkRecord {
  const predefined = findNetwork(engine, nameOrId) ? undefined : findPredefinedNetwork(nameOrId)
  if (predefined) throw new NcxError(`${predefined.name} is a pre-defined network and cannot be removed`, {exitCode: 1})
  const net = resolveNetwork(engine, nameOrId)
  if (net.name === DEFAULT_NETWORK) throw new NcxError(`${net.name} is a pre-defined network and cannot be removed`, {exitCode: 1})
  mutateNetworks(engine, (file) => {
    const cur = file.networks[net.name]
    if (!cur) return
    const users = Object.values(cur.allocations)
    if (users.length > 0) {
      const names = users.map((id) => engine.containers.find(id)?.name ?? id.slice(0, 12))
      throw new NcxError(`error while removing network: network ${net.name} id ${net.id} has active endpoints (${names.join(', ')})`, {exitCode: 1})
    }
    markBridgePending(engine, cur.bridge)
    delete file.networks[net.name]
  })
  dropBridge(engine)
  recordObjectEvent(engine.paths, 'network', 'destroy', net.id, {name: net.name, type: net.driver})
  return net
}

/** User-defined networks without containers. */
export function pruneNetworks(engine: Engine, match: (net: NetworkRecord) => boolean = () => true): string[] {
  const removed: string[] = []
  for (const n of listNetworks(engine)) {
    if (n.name === DEFAULT_NETWORK || Object.keys(n.allocations).length > 0 || !match(n)) continue
    try {
      removeNetwork(engine, n.name)
      removed.push(n.name)
    } catch {
      // in use meanwhile
    }
  }
  return removed
}

// ---------------------------------------------------------------------------------------
// Bridges in the per-user network namespace
//
// `bridges.json` says which bridges of the live namespace are whole: link, gateway address,
// up, and in the nftables table. Crash safety (a SIGKILL at any point): intent is recorded
// before acting. A bridge about to be set up or removed is first moved to `pending`; only
// once the link and the rules are in place does it go (back) to `bridges`. Whoever next takes
// the lock converges everything that is not whole to what networks.json says: a pending
// bridge, a recorded one whose link is gone, a bridge link nobody recorded, a bridge whose
// network was removed. A network's bridge is adopted (created if missing, given its address,
// set up: never deleted, so containers attached to it keep their ports); any other is deleted.

interface BridgeState {
  holderPid: number
  /** Whole bridges. */
  bridges: string[]
  /** Bridges being set up or removed (their link may or may not exist). */
  pending?: string[]
}

function bridgeState(engine: Engine): BridgeState {
  return readJson<BridgeState>(bridgesPath(engine), {holderPid: 0, bridges: []})
}

/** The names ncx gives bridges: `ncx0` (the default network) and `br-<12 hex>`. */
export function isBridgeName(name: string): boolean {
  return name === 'ncx0' || /^br-[0-9a-f]{12}$/.test(name)
}

/** The interfaces of the network namespace `pid` is in (`/proc/PID/net/dev`), undefined when it is gone. */
export function namespaceLinks(pid: number): Set<string> | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
  } catch {
    return undefined
  }
  const out = new Set<string>()
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):/.exec(line)
    if (m) out.add(m[1])
  }
  return out
}

/** A bridge that is not whole, and why. */
export interface BridgeProblem {
  bridge: string
  /** The network it belongs to (none: the network was removed). */
  network?: string
  kind: 'interrupted' | 'missing' | 'unrecorded' | 'orphaned'
}

/**
 * Every bridge of the namespace that is not whole, from its record (`s`, for this
 * namespace), its links and the networks there are. Empty when all is as recorded.
 */
export function bridgeProblems(s: Pick<BridgeState, 'bridges' | 'pending'>, links: ReadonlySet<string>, nets: ReadonlyArray<Pick<NetworkRecord, 'name' | 'bridge'>>): BridgeProblem[] {
  const network = new Map(nets.map((n) => [n.bridge, n.name]))
  const out = new Map<string, BridgeProblem>()
  const add = (bridge: string, kind: BridgeProblem['kind']) => {
    if (!out.has(bridge)) out.set(bridge, {bridge, ...(network.has(bridge) ? {network: network.get(bridge)} : {}), kind})
  }
  for (const b of s.pending ?? []) add(b, 'interrupted')
  for (const b of s.bridges) if (!network.has(b)) add(b, 'orphaned')
  for (const b of s.bridges) if (!links.has(b)) add(b, 'missing')
  for (const l of links) if (isBridgeName(l) && !s.bridges.includes(l)) add(l, network.has(l) ? 'unrecorded' : 'orphaned')
  return [...out.values()]
}

/** What converging does: bridges to adopt or create, links to delete. */
export interface BridgePlan {
  setUp: Array<Pick<NetworkRecord, 'bridge' | 'gateway' | 'subnet'>>
  remove: string[]
  /** Every bridge the plan touches (recorded as pending while it runs). */
  touched: string[]
}

/** Converge the problems, and set up `want` (a network's bridge) if it is not whole. */
export function planBridges(s: Pick<BridgeState, 'bridges' | 'pending'>, links: ReadonlySet<string>, nets: ReadonlyArray<NetworkRecord>, want?: string): BridgePlan {
  const touched = bridgeProblems(s, links, nets).map((p) => p.bridge)
  if (want !== undefined && !touched.includes(want) && !(s.bridges.includes(want) && links.has(want))) touched.push(want)
  const byBridge = new Map(nets.map((n) => [n.bridge, n]))
  return {
    setUp: touched.filter((b) => byBridge.has(b)).map((b) => byBridge.get(b)!),
    remove: touched.filter((b) => !byBridge.has(b) && links.has(b)),
    touched,
  }
}

/** The `ip -batch` input for a plan: deletions, then each bridge adopted (created only when missing). */
export function bridgeCommands(plan: BridgePlan, links: ReadonlySet<string>): string {
  const lines = plan.remove.map((b) => `link del ${b}`)
  for (const n of plan.setUp) {
    if (!links.has(n.bridge)) lines.push(`link add ${n.bridge} type bridge`)
    lines.push(`addr replace ${n.gateway}/${parseCidr(n.subnet).prefix} dev ${n.bridge}`, `link set ${n.bridge} up`)
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : ''
}

/**
 * The whole nftables table for the bridges there are: masquerading towards slirp4netns, and
 * no forwarding between bridges. Applied as one transaction that replaces the table (add,
 * delete, add: whether or not it exists), so removing a network leaves none of its rules.
 */
export function ruleset(nets: Array<Pick<NetworkRecord, 'bridge' | 'subnet' | 'internal'>>): string {
  const lines = [
    'table ip ncx {}',
    'delete table ip ncx',
    'table ip ncx {',
    '  chain nat_post { type nat hook postrouting priority 100; policy accept; }',
    '  chain filter_fwd { type filter hook forward priority 0; policy accept; ct state established,related accept; }',
    '}',
  ]
  for (const net of nets) {
    // With br_netfilter (bridge-nf-call-iptables), traffic between two ports of one bridge
    // passes the forward hook too, with the bridge as both interfaces.
    lines.push(`add rule ip ncx filter_fwd iifname "${net.bridge}" oifname "${net.bridge}" accept`)
    if (!net.internal) {
      lines.push(`add rule ip ncx nat_post ip saddr ${net.subnet} oifname "tap0" masquerade`)
      lines.push(`add rule ip ncx filter_fwd iifname "${net.bridge}" oifname "tap0" accept`)
    }
  }
  for (const net of nets) {
    lines.push(`add rule ip ncx filter_fwd iifname "${net.bridge}" drop`)
    lines.push(`add rule ip ncx filter_fwd oifname "${net.bridge}" drop`)
  }
  return lines.join('\n') + '\n'
}

function bridgesPath(engine: Engine): string {
  return join(engine.paths.run, 'bridges.json')
}

function bridgesLock(engine: Engine): string {
  return join(engine.paths.run, 'bridges.lock')
}

/** bridges.json describes the namespace (runtime state, gone with it: renamed, never fsynced). */
function saveBridgeState(engine: Engine, s: BridgeState): void {
  writeJson(bridgesPath(engine), {holderPid: s.holderPid, bridges: s.bridges, ...(s.pending?.length ? {pending: s.pending} : {})}, false)
}

/** Apply the table for the bridges in `s` (their network records from the registry). */
function applyRules(engine: Engine, netns: Netns, s: BridgeState, nets: NetworkRecord[]): void {
  const byBridge = new Map(nets.map((n) => [n.bridge, n]))
  const rules = s.bridges.map((b) => byBridge.get(b)).filter((n): n is NetworkRecord => n !== undefined)
  try {
    inNetns(engine, netns, ['nft', '-f', '-'], ruleset(rules))
  } catch (error) {
    throw new NcxError(`cannot set up NAT in the network namespace: ${(error as Error).message}`, {hint: 'install nftables (sudo apt-get install nftables)'})
  }
}

/** The record of the live namespace (a record of an earlier one describes nothing that exists). */
function stateFor(engine: Engine, netns: Netns): BridgeState {
  const s = bridgeState(engine)
  return s.holderPid === netns.holderPid ? s : {holderPid: netns.holderPid, bridges: []}
}

/**
 * Bring the namespace's bridges to what networks.json says (and `want` whole), under the
 * bridges lock: the intent recorded first, then the links, then the rules, then the record.
 */
function convergeBridges(engine: Engine, netns: Netns, want?: string): void {
  const s = stateFor(engine, netns)
  const links = namespaceLinks(netns.holderPid) ?? new Set<string>()
  const nets = Object.values(loadNetworks(engine).networks)
  const plan = planBridges(s, links, nets, want)
  if (plan.touched.length === 0) return
  const kept = s.bridges.filter((b) => !plan.touched.includes(b))
  const pending = [...new Set([...(s.pending ?? []), ...plan.touched])]
  saveBridgeState(engine, {holderPid: s.holderPid, bridges: kept, pending})
  const commands = bridgeCommands(plan, links)
  if (commands) inNetns(engine, netns, ['ip', '-batch', '-'], commands)
  const done: BridgeState = {holderPid: s.holderPid, bridges: [...kept, ...plan.setUp.map((n) => n.bridge)], pending: pending.filter((b) => !plan.touched.includes(b))}
  applyRules(engine, netns, done, nets)
  saveBridgeState(engine, done)
}

/** Make sure the namespace exists and has this network's bridge, whole (set up once per namespace). */
export function ensureBridge(engine: Engine, net: NetworkRecord): Netns {
  const {netns} = ensureNetns(engine)
  // The common case, without the lock: recorded whole, its link there, nothing to repair.
  const cur = bridgeState(engine)
  const links = namespaceLinks(netns.holderPid)
  if (cur.holderPid === netns.holderPid && links?.has(net.bridge) && cur.bridges.includes(net.bridge) && bridgeProblems(cur, links, Object.values(loadNetworks(engine).networks)).length === 0) return netns
  withLock(bridgesLock(engine), () => convergeBridges(engine, netns, net.bridge))
  return netns
}

/**
 * About to remove the network of `bridge` (called under the networks lock, once nothing
 * uses it): the bridge becomes pending first, so a crash between the record's removal and
 * the link's leaves a bridge the next convergence deletes.
 */
function markBridgePending(engine: Engine, bridge: string): void {
  const netns = currentNetns(engine)
  if (!netns) return
  withLock(bridgesLock(engine), () => {
    const s = bridgeState(engine)
    if (s.holderPid !== netns.holderPid || s.pending?.includes(bridge)) return
    saveBridgeState(engine, {holderPid: s.holderPid, bridges: s.bridges.filter((b) => b !== bridge), pending: [...(s.pending ?? []), bridge]})
  })
}

/** A removed network's bridge and rules go from the live namespace (with anything else left to repair). */
function dropBridge(engine: Engine): void {
  const netns = currentNetns(engine)
  if (!netns) return
  withLock(bridgesLock(engine), () => convergeBridges(engine, netns))
}

/** Converge the live namespace's bridges to what networks.json says (`ncx system check --repair`). */
export function repairBridges(engine: Engine): void {
  dropBridge(engine)
}

/** The bridges of the live namespace that are not whole (for `ncx system doctor`); undefined: no namespace. */
export function bridgeReport(engine: Engine): {holderPid: number; bridges: string[]; problems: BridgeProblem[]} | undefined {
  const netns = currentNetns(engine)
  const links = netns && namespaceLinks(netns.holderPid)
  if (!netns || !links) return undefined
  const s = stateFor(engine, netns)
  return {holderPid: netns.holderPid, bridges: s.bridges, problems: bridgeProblems(s, links, Object.values(loadNetworks(engine).networks))}
}

/** Docker's `-p` with ranges: `8000-8002:80-82`, `127.0.0.1::80-81` (random host ports), one spec each. */
export function parsePublishRange(spec: string): PortSpec[] {
  const m = /^(.*?)(\d+)-(\d+)(\/\w+)?$/.exec(spec)
  if (!m) return [parsePublish(spec)]
  const [, head, a, b, proto = ''] = m
  const [lo, hi] = [Number(a), Number(b)]
  const bad = (why: string) => new UsageError(`invalid publish spec ${JSON.stringify(spec)}: ${why}`, 'use -p [ip:][hostPort[-hostPort]:]containerPort[-containerPort][/tcp|udp]')
  if (hi < lo || hi - lo > 1000) throw bad('invalid container port range')
  const hostRange = /^(.*?:)?(\d+)-(\d+):$/.exec(head)
  const out: PortSpec[] = []
  for (let i = 0; i <= hi - lo; i++) {
    let hostHead = head
    if (hostRange) {
      const [hlo, hhi] = [Number(hostRange[2]), Number(hostRange[3])]
      if (hhi - hlo !== hi - lo) throw bad('host and container port ranges differ in size')
      hostHead = `${hostRange[1] ?? ''}${hlo + i}:`
    }
    out.push(parsePublish(`${hostHead}${lo + i}${proto}`))
  }
  return out
}

/**
 * Docker's `-p` syntax: `[ip:][hostPort:]containerPort[/proto]`, the IP an IPv4 address or an
 * IPv6 one, in brackets or not (`[::1]:8080:80`, `::1:8080:80`: nat.ParsePortSpec takes
 * everything before the last two colons as the address). Messages are Docker's.
 */
export function parsePublish(spec: string): PortSpec {
  const bad = (what: string) => new UsageError(what, 'use -p [ip:][hostPort:]containerPort[/tcp|udp]')
  let rest = spec
  let proto: 'tcp' | 'udp' = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const p = rest.slice(slash + 1)
    if (p !== 'tcp' && p !== 'udp') throw bad(`invalid proto: ${p}`)
    proto = p
    rest = rest.slice(0, slash)
  }
  const parts = rest.split(':')
  const containerPart = parts.pop()!
  const hostPart = parts.length > 0 ? parts.pop()! : ''
  let ipPart = parts.join(':')
  if (ipPart.startsWith('[') && ipPart.endsWith(']')) ipPart = ipPart.slice(1, -1)
  const port = (s: string, what: string, allowZero: boolean) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN
    if (!(n <= 65535) || (!allowZero && n === 0)) throw bad(`invalid ${what}: ${s}`)
    return n
  }
  let hostIp = '0.0.0.0'
  if (ipPart !== '') {
    if (!isIpAddress(ipPart)) throw bad(`invalid IP address: ${ipPart}`)
    hostIp = ipPart
  }
  const hostPort = hostPart === '' ? 0 : port(hostPart, 'hostPort', true)
  const containerPort = port(containerPart, 'containerPort', false)
  return {proto, hostIp, hostPort, containerPort}
}

/** `0.0.0.0:8080`, `[::]:8080`: a host address and port as Docker prints them. */
export function hostAddress(p: {hostIp: string; hostPort: number}): string {
  return p.hostIp.includes(':') ? `[${p.hostIp}]:${p.hostPort}` : `${p.hostIp}:${p.hostPort}`
}

/** `0.0.0.0:8080->80/tcp, …` (ps's PORTS column). */
export function formatPorts(ports: PortSpec[]): string {
  return ports.map((p) => `${hostAddress(p)}->${p.containerPort}/${p.proto}`).join(', ')
}
