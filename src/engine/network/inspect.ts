/** Docker's `network inspect` JSON for a network record. */
import {Engine} from '../engine.js'
import {readContainerNetwork} from './attach.js'
import {DEFAULT_NETWORK, NetworkRecord, PredefinedNetwork, findNetwork, findPredefinedNetwork} from './networks.js'

export interface NetworkInspect {
  Name: string
  Id: string
  Created: string
  Scope: 'local'
  Driver: string
  EnableIPv6: false
  IPAM: {Driver: 'default'; Options: Record<string, string> | null; Config: Array<{Subnet: string; Gateway: string}>}
  Internal: boolean
  Attachable: false
  Ingress: false
  ConfigFrom: {Network: string}
  ConfigOnly: false
  Containers: Record<string, {Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string}>
  Options: Record<string, string>
  Labels: Record<string, string>
}

export function inspectNetwork(engine: Engine, n: NetworkRecord): NetworkInspect {
  const containers: NetworkInspect['Containers'] = {}
  for (const [ip, id] of Object.entries(n.allocations)) {
    const rec = engine.containers.find(id)
    const ep = readContainerNetwork(engine, id)?.endpoints.find((e) => e.network === n.name)
    const prefix = n.subnet.split('/')[1]
    containers[id] = {Name: rec?.name ?? '', EndpointID: '', MacAddress: ep?.mac ?? '', IPv4Address: `${ip}/${ep?.prefix ?? prefix}`, IPv6Address: ''}
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: {Driver: 'default', Options: {}, Config: [{Subnet: n.subnet, Gateway: n.gateway}]},
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: {Network: ''},
    ConfigOnly: false,
    Containers: containers,
    Options: {'com.docker.network.bridge.name': n.bridge, 'com.docker.network.driver.mtu': '65520'},
    Labels: n.labels,
  }
}

/** `host` and `none` as Docker shows them: no IPAM configuration, the containers in that mode. */
export function inspectPredefinedNetwork(engine: Engine, n: PredefinedNetwork, created: string): NetworkInspect {
  const containers: NetworkInspect['Containers'] = {}
  for (const rec of engine.containers.list()) {
    if (rec.options.network === n.name) containers[rec.id] = {Name: rec.name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: ''}
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {Driver: 'default', Options: null, Config: []},
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: {Network: ''},
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: {},
  }
}

/** A network by name or ID, the predefined host and none included; undefined if none. */
export function findNetworkInspect(engine: Engine, nameOrId: string): NetworkInspect | undefined {
  const n = findNetwork(engine, nameOrId)
  if (n) return inspectNetwork(engine, n)
  const p = findPredefinedNetwork(nameOrId)
  return p && inspectPredefinedNetwork(engine, p, findNetwork(engine, DEFAULT_NETWORK)?.created ?? new Date(0).toISOString())
}
