/** Docker's `network inspect` JSON for a network record. */
import {Engine} from '../engine.js'
import {readContainerNetwork} from './attach.js'
import {NetworkRecord} from './networks.js'

export interface NetworkInspect {
  Name: string
  Id: string
  Created: string
  Scope: 'local'
  Driver: 'bridge'
  EnableIPv6: false
  IPAM: {Driver: 'default'; Options: Record<string, string>; Config: Array<{Subnet: string; Gateway: string}>}
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
