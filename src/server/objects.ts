/**
 * `/networks/…`, `/volumes/…`, `/system/df`, `/events`: Docker's shapes over the engine modules
 * the `network`, `volume`, `system df` and `events` commands use.
 */
import {ServerResponse} from 'node:http'

import {diskUsage} from '../engine/df.js'
import {NotFoundError, UsageError} from '../engine/errors.js'
import {EngineEvent, eventMatches, followEvents, parseEventFilters, readEvents} from '../engine/events.js'
import {connectContainer, disconnectContainer} from '../engine/network/attach.js'
import {matchesNetworkFilters, parseNetworkFilters} from '../engine/network/filter.js'
import {findNetworkInspect} from '../engine/network/inspect.js'
import {DEFAULT_NETWORK, PREDEFINED_NETWORKS, createNetwork, findNetwork, listNetworks, pruneNetworks, removeNetwork} from '../engine/network/networks.js'
import {parseUntil} from '../engine/prune.js'
import {parseVolumeFilters, toInspect} from '../engine/volume/store.js'
import {ApiError, Request, Router, baseHeaders, queryBool, queryFilters} from './http.js'
import {ServiceContext} from './context.js'

/** A filters map as the CLI's `key=value` flag values, so the CLI's filter parsers validate them. */
function filterArgs(filters: Map<string, string[]>): string[] {
  return [...filters].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`))
}

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {}
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object')
  return body as Record<string, unknown>
}

function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {}
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
}

/** Docker's `since`/`until`: Unix seconds (with a fraction), or what the CLI accepts. */
function eventTime(value: string, name: string, now: number): number {
  try {
    return parseUntil(value, now)
  } catch {
    throw new ApiError(400, `failed to parse value as time or duration: ${JSON.stringify(value)} (${name})`)
  }
}

/**
 * A network's document as Docker's API gives it: a user-defined network's `Options` are the
 * driver options it was created with (none can be given to ncx), not the bridge's settings that
 * `ncx network inspect` shows; docker-compose compares them and would recreate the network.
 */
function networkDocument<T extends {Name: string; Options: Record<string, string>}>(doc: T | undefined): T | undefined {
  if (!doc || doc.Name === DEFAULT_NETWORK) return doc
  return {...doc, Options: {}}
}

export function objectRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx

  // --- networks
  router.on('GET', '/networks', async (req) => {
    const filters = parseNetworkFilters(filterArgs(queryFilters(req.query)))
    const records = listNetworks(engine)
    const all = [
      ...records.map((n) => ({id: n.id, name: n.name, driver: n.driver, labels: n.labels, builtin: n.name === DEFAULT_NETWORK, containers: Object.keys(n.allocations).length})),
      ...PREDEFINED_NETWORKS.map((n) => ({id: n.id, name: n.name, driver: n.driver, labels: {}, builtin: true, containers: 0})),
    ]
    return {body: all.filter((n) => matchesNetworkFilters(n, filters)).map((n) => networkDocument(findNetworkInspect(engine, n.id))).filter((d) => d !== undefined)}
  })
  router.on('GET', '/networks/{id}', async (req) => {
    const doc = networkDocument(findNetworkInspect(engine, req.params[0]))
    if (!doc) throw new NotFoundError(`network ${req.params[0]} not found`)
    return {body: doc}
  })
  router.on('POST', '/networks/create', async (req) => {
    const b = bodyObject(await req.json())
    const name = typeof b.Name === 'string' ? b.Name : ''
    if (!name) throw new ApiError(400, 'network name is required')
    const driver = typeof b.Driver === 'string' && b.Driver !== '' ? b.Driver : 'bridge'
    if (driver !== 'bridge') throw new ApiError(404, `plugin ${JSON.stringify(driver)} not found`)
    const ipam = (b.IPAM ?? {}) as {Config?: Array<{Subnet?: string; Gateway?: string}>}
    const cfg = ipam.Config?.[0] ?? {}
    if (cfg.Gateway && !cfg.Subnet) throw new ApiError(400, 'a gateway needs a subnet')
    if (findNetwork(engine, name) && b.CheckDuplicate !== false) throw new ApiError(409, `network with name ${name} already exists`)
    const warnings: string[] = []
    if (b.EnableIPv6 === true) warnings.push('EnableIPv6 is not supported by ncx and was ignored')
    if ((ipam.Config?.length ?? 0) > 1) warnings.push('only the first IPAM configuration is used by ncx')
    const net = createNetwork(engine, {name, subnet: cfg.Subnet || undefined, gateway: cfg.Gateway || undefined, internal: b.Internal === true, labels: stringMap(b.Labels)})
    return {status: 201, body: {Id: net.id, Warning: warnings.join('\n')}}
  })
  router.on('DELETE', '/networks/{id}', async (req) => {
    try {
      removeNetwork(engine, req.params[0])
    } catch (error) {
      if (error instanceof Error && /pre-defined network/.test(error.message)) throw new ApiError(403, error.message)
      throw error
    }
    return {status: 204}
  })
  router.on('POST', '/networks/{id}/connect', async (req) => {
    const b = bodyObject(await req.json())
    const ep = (b.EndpointConfig ?? {}) as {Aliases?: string[]; IPAMConfig?: {IPv4Address?: string}}
    if (typeof b.Container !== 'string') throw new ApiError(400, 'Container is required')
    connectContainer(engine, req.params[0], b.Container, {aliases: ep.Aliases ?? undefined, ip: ep.IPAMConfig?.IPv4Address || undefined})
    return {status: 200}
  })
  router.on('POST', '/networks/{id}/disconnect', async (req) => {
    const b = bodyObject(await req.json())
    if (typeof b.Container !== 'string') throw new ApiError(400, 'Container is required')
    disconnectContainer(engine, req.params[0], b.Container, b.Force === true)
    return {status: 200}
  })
  router.on('POST', '/networks/prune', async (req) => {
    const filters = queryFilters(req.query)
    const labels = filters.get('label') ?? []
    const until = filters.get('until')?.[0]
    const untilMs = until === undefined ? undefined : eventTime(until, 'until', Date.now())
    const removed = pruneNetworks(engine, (n) => {
      if (untilMs !== undefined && Date.parse(n.created) >= untilMs) return false
      return labels.every((l) => {
        const eq = l.indexOf('=')
        return eq < 0 ? l in n.labels : n.labels[l.slice(0, eq)] === l.slice(eq + 1)
      })
    })
    return {body: {NetworksDeleted: removed}}
  })

  // --- volumes
  router.on('GET', '/volumes', async (req) => {
    const filters = parseVolumeFilters(filterArgs(queryFilters(req.query)))
    return {body: {Volumes: engine.volumes.list(filters).sort((a, b) => a.name.localeCompare(b.name)).map(toInspect), Warnings: []}}
  })
  router.on('GET', '/volumes/{name}', async (req) => ({body: engine.volumes.inspect(req.params[0])}))
  router.on('POST', '/volumes/create', async (req) => {
    const b = bodyObject(await req.json())
    const name = typeof b.Name === 'string' && b.Name !== '' ? b.Name : undefined
    const driver = typeof b.Driver === 'string' && b.Driver !== '' ? b.Driver : 'local'
    const {volume} = engine.volumes.create({...(name !== undefined ? {name} : {}), driver, labels: stringMap(b.Labels), options: stringMap(b.DriverOpts)})
    return {status: 201, body: toInspect(volume)}
  })
  router.on('DELETE', '/volumes/{name}', async (req) => {
    const name = req.params[0]
    if (!engine.volumes.find(name)) {
      if (queryBool(req.query, 'force')) return {status: 204}
      throw new NotFoundError(`get ${name}: no such volume`)
    }
    engine.volumes.remove(name, {force: queryBool(req.query, 'force')})
    return {status: 204}
  })
  router.on('POST', '/volumes/prune', async (req) => {
    const filters = queryFilters(req.query)
    const all = filters.get('all')?.some((v) => v === 'true' || v === '1') ?? false
    const label = parseVolumeFilters(filterArgs(new Map([...filters].filter(([k]) => k === 'label'))), ['label']).label
    const {removed, reclaimed} = engine.volumes.prune({all, label})
    return {body: {VolumesDeleted: removed, SpaceReclaimed: reclaimed}}
  })

  // --- /system/df
  router.on('GET', '/system/df', async () => {
    const u = diskUsage(engine)
    const images = engine.images.list()
    return {
      body: {
        LayersSize: u.layersSize,
        Images: u.images.map((i) => {
          const rec = images.find((r) => r.id === i.id)
          return {
            Id: `sha256:${i.id.replace(/^sha256:/, '')}`,
            ParentId: '',
            RepoTags: i.names.filter((n) => !n.includes('@')),
            RepoDigests: rec?.repoDigests ?? [],
            Created: i.created ? Math.floor(Date.parse(i.created) / 1000) : 0,
            Size: i.size,
            SharedSize: i.sharedSize,
            VirtualSize: i.size,
            Labels: {},
            Containers: i.containers,
          }
        }),
        Containers: u.containers.map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Image: c.image,
          ImageID: '',
          Command: c.command,
          Created: Math.floor(Date.parse(c.created) / 1000),
          State: c.state.status,
          Status: c.state.status,
          SizeRw: c.size,
          SizeRootFs: c.size,
          Labels: {},
          Mounts: [],
        })),
        Volumes: u.volumes.map((v) => {
          const vol = engine.volumes.find(v.name)
          return {...(vol ? toInspect(vol) : {Name: v.name, Driver: 'local', Scope: 'local'}), UsageData: {Size: v.size, RefCount: v.links}}
        }),
        BuildCache: [],
      },
    }
  })

  // --- /events: what was recorded since `since`, then followed until `until` or the client leaves.
  router.on('GET', '/events', async (req: Request, res: ServerResponse) => {
    const now = Date.now()
    const q = req.query
    const since = q.get('since') ? eventTime(q.get('since')!, 'since', now) : undefined
    const until = q.get('until') ? eventTime(q.get('until')!, 'until', now) : undefined
    if (since !== undefined && until !== undefined && until < since) throw new ApiError(400, 'since time must be before until time')
    let filters
    try {
      filters = parseEventFilters(filterArgs(queryFilters(q)))
    } catch (error) {
      if (error instanceof UsageError) throw new ApiError(400, error.message)
      throw error
    }
    res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/json'})
    res.flushHeaders()
    const lower = since ?? now
    const send = (e: EngineEvent) => {
      const ms = e.timeNano / 1e6
      if (ms < lower || (until !== undefined && ms > until) || !eventMatches(e, filters)) return
      res.write(JSON.stringify(e) + '\n')
    }
    const {events, offset} = readEvents(engine.paths)
    if (since !== undefined) for (const e of events) send(e)
    if (until !== undefined && until <= Date.now()) {
      res.end()
      return 'handled'
    }
    await new Promise<void>((resolve) => {
      const stop = followEvents(engine.paths, offset, send)
      const timer = until === undefined ? undefined : setTimeout(finish, until - Date.now())
      function finish() {
        stop()
        if (timer) clearTimeout(timer)
        res.end()
        resolve()
      }
      res.on('close', finish)
    })
    return 'handled'
  })
}
