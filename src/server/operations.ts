/**
 * Container operations beside the lifecycle (top, pause/unpause, rename, stats) and the prune
 * endpoints of containers and images, over the modules `ncx top/pause/rename/stats/prune` use.
 */
import {readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {ServerResponse} from 'node:http'

import {PS_EF_TITLES, psEfRows} from '../cli/top.js'
import {StatsSample, pauseContainer, sampleStats, unpauseContainer} from '../engine/cgroup/control.js'
import {ContainerRecord} from '../engine/container/store.js'
import {checkRestartPolicy, pruneContainers, stateOf, topContainer, topWithPsOptions, updateRestartPolicy} from '../engine/container/lifecycle.js'
import {containerChanges} from '../engine/container/diff.js'
import {exportToStream} from '../engine/container/export.js'
import {updateContainer} from '../engine/cgroup/control.js'
import {parseResourceFlags} from '../cli/resource-flags.js'
import {NcxError} from '../engine/errors.js'
import {pruneImages} from '../engine/image/prune.js'
import {inspectImage} from '../engine/image/inspect.js'
import {ImageRecord} from '../engine/image/types.js'
import {parseUntil} from '../engine/prune.js'
import {ApiError, Request, Router, baseHeaders, queryBool, queryFilters} from './http.js'
import {find} from './containers.js'
import {ServiceContext} from './context.js'

/** The host's CPU time in nanoseconds (Docker's `system_cpu_usage`, from /proc/stat's first line in USER_HZ ticks). */
function systemCpuNanos(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    return line.split(/\s+/).slice(1, 8).reduce((a, t) => a + Number(t || 0), 0) * 10_000_000
  } catch {
    return 0
  }
}

interface Reading {
  sample: StatsSample
  system: number
  read: string
}

function reading(ctx: ServiceContext, record: ContainerRecord): Reading {
  return {sample: sampleStats(ctx.engine, record), system: systemCpuNanos(), read: new Date().toISOString()}
}

function cpuStats(r: Reading | undefined): Record<string, unknown> {
  const total = r?.sample.cpuUsec === undefined ? 0 : r.sample.cpuUsec * 1000
  return {cpu_usage: {total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: total}, system_cpu_usage: r?.system ?? 0, online_cpus: cpus().length, throttling_data: {periods: 0, throttled_periods: 0, throttled_time: 0}}
}

/** Docker's stats document (what `docker stats` reads: cpu, memory, network, blkio, pids). */
function statsDocument(record: ContainerRecord, cur: Reading, prev: Reading | undefined): Record<string, unknown> {
  const s = cur.sample
  const blk = (op: string, value: number | undefined) => (value === undefined ? [] : [{major: 0, minor: 0, op, value}])
  return {
    read: cur.read,
    preread: prev?.read ?? '0001-01-01T00:00:00Z',
    name: `/${record.name}`,
    id: record.id,
    pids_stats: s.pids === undefined ? {} : {current: s.pids},
    num_procs: 0,
    storage_stats: {},
    blkio_stats: {io_service_bytes_recursive: [...blk('read', s.blkRead), ...blk('write', s.blkWrite)]},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(prev),
    memory_stats: s.memUsage === undefined ? {} : {usage: s.memUsage, limit: s.memLimit ?? 0, stats: {}},
    networks: {eth0: {rx_bytes: s.netRx, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_bytes: s.netTx, tx_packets: 0, tx_errors: 0, tx_dropped: 0}},
  }
}

/**
 * Docker's prune filters: `label=K`, `label=K=V` (all must hold), `label!=…` (none may hold),
 * `until=TIME` (created before: Unix seconds, dates, durations). Other keys: 400.
 */
export function pruneMatcher(filters: Map<string, string[]>, allowed: string[], now = Date.now()): (labels: Record<string, string>, createdMs: number) => boolean {
  for (const k of filters.keys()) if (!allowed.includes(k)) throw new ApiError(400, `invalid filter '${k}'`)
  const has = (labels: Record<string, string>, l: string) => {
    const eq = l.indexOf('=')
    return eq < 0 ? l in labels : labels[l.slice(0, eq)] === l.slice(eq + 1)
  }
  const untilText = filters.get('until')?.[0]
  let until: number | undefined
  if (untilText !== undefined) {
    try {
      until = parseUntil(untilText, now)
    } catch {
      throw new ApiError(400, `failed to parse value as time or duration: ${JSON.stringify(untilText)}`)
    }
  }
  const want = filters.get('label') ?? []
  const refuse = filters.get('label!') ?? []
  return (labels, createdMs) => {
    if (until !== undefined && !(createdMs < until)) return false
    return want.every((l) => has(labels, l)) && !refuse.some((l) => has(labels, l))
  }
}

/** Engine errors the CLI answers with exit status 1 keep their message; a state conflict is Docker's 409. */
function conflictOrRethrow(error: unknown): never {
  if (error instanceof NcxError && /is not running|is already paused|is not paused/.test(error.message)) throw new ApiError(409, error.message)
  if (error instanceof NcxError && error.hint) throw new ApiError(500, `${error.message}: ${error.hint}`)
  throw error
}

/** `POST /containers/{id}/update` fields → `ncx update` flags (0 is "unchanged", as in Docker). */
const UPDATE_FIELDS: Array<[string, string, (v: number) => string]> = [
  ['Memory', 'memory', String],
  ['MemorySwap', 'memory-swap', String],
  ['MemoryReservation', 'memory-reservation', String],
  ['NanoCpus', 'cpus', (v) => String(v / 1e9)],
  ['CpuShares', 'cpu-shares', String],
  ['CpuPeriod', 'cpu-period', String],
  ['CpuQuota', 'cpu-quota', String],
  ['PidsLimit', 'pids-limit', String],
  ['BlkioWeight', 'blkio-weight', String],
]
/** Fields of Docker's update body ncx does not apply: reported in `Warnings` when given. */
const UPDATE_IGNORED = ['KernelMemory', 'KernelMemoryTCP', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'MemorySwappiness', 'Devices', 'DeviceCgroupRules', 'DeviceRequests', 'Ulimits', 'BlkioWeightDevice', 'CgroupParent']

/** The flags and warnings of an update body (exported for the unit tests). */
export function updateFlags(body: Record<string, unknown>): {flags: Record<string, string | string[] | boolean>; restart?: string; warnings: string[]} {
  const flags: Record<string, string | string[] | boolean> = {}
  const warnings: string[] = []
  for (const [field, flag, text] of UPDATE_FIELDS) {
    const v = body[field]
    if (v === undefined || v === null || v === 0) continue
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ApiError(400, `invalid ${field}: ${JSON.stringify(v)}`)
    flags[flag] = text(v)
  }
  for (const [field, flag] of [['CpusetCpus', 'cpuset-cpus'], ['CpusetMems', 'cpuset-mems']] as const) if (typeof body[field] === 'string' && body[field] !== '') flags[flag] = body[field] as string
  if (body.OomKillDisable === true) flags['oom-kill-disable'] = true
  for (const [field, flag] of [['BlkioDeviceReadBps', 'device-read-bps'], ['BlkioDeviceWriteBps', 'device-write-bps'], ['BlkioDeviceReadIOps', 'device-read-iops'], ['BlkioDeviceWriteIOps', 'device-write-iops']] as const) {
    const list = body[field]
    if (Array.isArray(list) && list.length > 0) flags[flag] = list.map((d) => `${String((d as {Path?: unknown}).Path)}:${String((d as {Rate?: unknown}).Rate)}`)
  }
  for (const field of UPDATE_IGNORED) {
    const v = body[field]
    if (v !== undefined && v !== null && v !== 0 && v !== '' && v !== -1 && !(Array.isArray(v) && v.length === 0)) warnings.push(`${field} is not supported by ncx and was ignored`)
  }
  const policy = body.RestartPolicy as {Name?: unknown; MaximumRetryCount?: unknown} | undefined
  let restart: string | undefined
  if (policy && typeof policy.Name === 'string' && policy.Name !== '') {
    restart = policy.Name === 'on-failure' && typeof policy.MaximumRetryCount === 'number' && policy.MaximumRetryCount > 0 ? `on-failure:${policy.MaximumRetryCount}` : policy.Name
  }
  return {flags, ...(restart ? {restart} : {}), warnings}
}

/** Fields of `POST /commit`'s Config body ncx applies, as the Dockerfile instructions `--change` takes. */
export function commitChanges(body: unknown): string[] {
  if (body === undefined || body === null) return []
  if (typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object (a container Config)')
  const c = body as Record<string, unknown>
  const out: string[] = []
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined)
  const cmd = list(c.Cmd)
  if (cmd && cmd.length > 0) out.push(`CMD ${JSON.stringify(cmd)}`)
  const entrypoint = list(c.Entrypoint)
  if (entrypoint && entrypoint.length > 0) out.push(`ENTRYPOINT ${JSON.stringify(entrypoint)}`)
  for (const e of list(c.Env) ?? []) if (e.includes('=')) out.push(`ENV ${e.slice(0, e.indexOf('='))}=${JSON.stringify(e.slice(e.indexOf('=') + 1))}`)
  if (c.Labels && typeof c.Labels === 'object') for (const [k, v] of Object.entries(c.Labels as Record<string, unknown>)) out.push(`LABEL ${JSON.stringify(k)}=${JSON.stringify(String(v))}`)
  if (typeof c.WorkingDir === 'string' && c.WorkingDir) out.push(`WORKDIR ${c.WorkingDir}`)
  if (typeof c.User === 'string' && c.User) out.push(`USER ${c.User}`)
  const applied = new Set(['Cmd', 'Entrypoint', 'Env', 'Labels', 'WorkingDir', 'User'])
  // Docker's clients send whole Config objects with zero values: only fields given a value count.
  const given = Object.entries(c).filter(([k, v]) => !applied.has(k) && v !== null && v !== undefined && v !== '' && v !== false && v !== 0 && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0))
  if (given.length > 0) throw new ApiError(400, `Config.${given[0][0]} cannot be changed by ncx commit: give Cmd, Entrypoint, Env, Labels, WorkingDir, User, or changes=`)
  return out
}

export function operationRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx

  router.on('GET', '/containers/{id}/top', async (req) => {
    const record = find(engine, req.params[0])
    if (stateOf(engine, record).status !== 'running') throw new ApiError(409, `Container ${record.id} is not running`)
    const psArgs = (req.query.get('ps_args') ?? '').split(/\s+/).filter((a) => a !== '')
    if (psArgs.length > 0) {
      const {titles, lines} = topWithPsOptions(engine, record, psArgs)
      return {body: {Titles: titles, Processes: lines}}
    }
    return {body: {Titles: PS_EF_TITLES, Processes: psEfRows(topContainer(engine, record))}}
  })

  router.on('POST', '/containers/{id}/pause', async (req) => {
    await pauseContainer(engine, find(engine, req.params[0])).catch(conflictOrRethrow)
    return {status: 204}
  })
  router.on('POST', '/containers/{id}/unpause', async (req) => {
    await unpauseContainer(engine, find(engine, req.params[0])).catch(conflictOrRethrow)
    return {status: 204}
  })

  router.on('POST', '/containers/{id}/rename', async (req) => {
    const name = req.query.get('name')
    if (!name) throw new ApiError(400, 'Neither old nor new names may be empty')
    const record = find(engine, req.params[0])
    const next = name.replace(/^\//, '')
    if (next === record.name) throw new ApiError(400, 'Renaming a container with the same name as its current name')
    engine.containers.rename(record.id, next)
    return {status: 204}
  })

  // stream=false: one document with a baseline a second earlier (Docker's CPU % needs two readings);
  // one-shot=true: without the baseline; stream: a document a second until the client leaves.
  router.on('GET', '/containers/{id}/stats', async (req: Request, res: ServerResponse) => {
    const record = find(engine, req.params[0])
    const stream = queryBool(req.query, 'stream', true)
    const oneShot = queryBool(req.query, 'one-shot')
    if (!stream) {
      const prev = oneShot ? undefined : reading(ctx, record)
      if (prev) await new Promise((r) => setTimeout(r, 1000))
      return {body: statsDocument(record, reading(ctx, record), prev)}
    }
    res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/json'})
    let prev: Reading | undefined
    let closed = false
    res.on('close', () => (closed = true))
    while (!closed) {
      const cur = reading(ctx, record)
      res.write(JSON.stringify(statsDocument(record, cur, prev)) + '\n')
      prev = cur
      if (stateOf(engine, record).status !== 'running') break
      await new Promise((r) => setTimeout(r, 1000))
    }
    res.end()
    return 'handled'
  })

  router.on('POST', '/containers/prune', async (req) => {
    const match = pruneMatcher(queryFilters(req.query), ['label', 'label!', 'until'])
    const removed = await pruneContainers(engine, (r) => match(r.config?.labels ?? r.options.labels ?? {}, Date.parse(r.created)))
    return {body: {ContainersDeleted: removed, SpaceReclaimed: 0}}
  })

  router.on('POST', '/images/prune', async (req) => {
    const filters = queryFilters(req.query)
    const dangling = filters.get('dangling')?.[0]
    const match = pruneMatcher(filters, ['dangling', 'label', 'label!', 'until'])
    const labelsOf = (i: ImageRecord) => {
      try {
        return (inspectImage(engine, i).Config.Labels as Record<string, string> | undefined) ?? {}
      } catch {
        return {}
      }
    }
    const report = pruneImages(engine, {all: dangling === 'false' || dangling === '0', match: (i) => match(labelsOf(i), Date.parse(i.created ?? i.addedAt))})
    const deleted = report.images.flatMap((i) => [...i.untagged.map((u) => ({Untagged: u})), {Deleted: i.deleted}])
    return {body: {ImagesDeleted: deleted, SpaceReclaimed: report.spaceReclaimed}}
  })

  // `docker export`: the container's merged file system as a tar stream, from the runtime.
  router.on('GET', '/containers/{id}/export', async (req, res) => {
    const record = find(engine, req.params[0])
    res.writeHead(200, {...baseHeaders(), 'Content-Type': 'application/x-tar'})
    try {
      await exportToStream(engine, record, res)
    } catch (error) {
      // Headers are out: a failure can only cut the stream short (Docker does the same).
      ctx.log.error(`export ${record.id}: ${error instanceof Error ? error.message : String(error)}`)
      res.destroy()
      return 'handled'
    }
    res.end()
    return 'handled'
  })

  // `docker diff`: Kind 0 changed, 1 added, 2 deleted.
  router.on('GET', '/containers/{id}/changes', async (req) => {
    const record = find(engine, req.params[0])
    const kinds = {C: 0, A: 1, D: 2} as const
    const changes = containerChanges(engine, record)
    // No changes: `null`, as Docker answers.
    return {body: changes.length === 0 ? null : changes.map((c) => ({Path: c.path, Kind: kinds[c.kind]}))}
  })

  // `docker update`: limits (kept in the spec for the next start; written live where the
  // container has a cgroup of its own) and the restart policy; the rest comes back as Warnings.
  router.on('POST', '/containers/{id}/update', async (req) => {
    const record = find(engine, req.params[0])
    const raw = await req.json()
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) throw new ApiError(400, 'the request body must be a JSON object')
    const {flags, restart, warnings} = updateFlags((raw ?? {}) as Record<string, unknown>)
    let resources
    try {
      resources = parseResourceFlags(flags)
      if (restart !== undefined) checkRestartPolicy(restart)
    } catch (error) {
      throw new ApiError(400, error instanceof Error ? error.message : String(error))
    }
    try {
      if (resources) updateContainer(engine, record, resources)
      if (restart !== undefined) updateRestartPolicy(engine, record, restart)
    } catch (error) {
      if (error instanceof NcxError) throw new ApiError(error.message.startsWith('Restart policy cannot') ? 400 : 500, error.hint ? `${error.message}: ${error.hint}` : error.message)
      throw error
    }
    return {body: {Warnings: warnings}}
  })

  // `docker commit`: the container's changes as a new image (ncx commit), with `changes`
  // (Dockerfile instructions, repeated or newline-separated) and the Config fields ncx applies.
  router.on('POST', '/commit', async (req) => {
    const q = req.query
    const container = q.get('container')
    if (!container) throw new ApiError(400, 'container is required')
    const record = find(engine, container)
    const repo = q.get('repo') || ''
    const tag = q.get('tag') || ''
    if (!repo && tag) throw new ApiError(400, 'a tag needs a repository (repo=)')
    const changes = [...q.getAll('changes').flatMap((c) => c.split('\n')), ...commitChanges(await req.json())].map((c) => c.trim()).filter((c) => c !== '')
    const {commitContainer} = await import('../engine/container/commit.js')
    const image = await commitContainer(engine, record, {
      changes,
      ...(q.get('comment') ? {message: q.get('comment')!} : {}),
      ...(q.get('author') ? {author: q.get('author')!} : {}),
      ...(repo ? {name: tag ? `${repo}:${tag}` : repo} : {}),
    }).catch((error: unknown) => {
      if (error instanceof NcxError && !(error instanceof ApiError) && /invalid|unknown|not supported|cannot/i.test(error.message)) throw new ApiError(400, error.message)
      throw error
    })
    return {status: 201, body: {Id: image.id}}
  })
}
