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
import {pruneContainers, stateOf, topContainer, topWithPsOptions} from '../engine/container/lifecycle.js'
import {NcxError} from '../engine/errors.js'
import {pruneImages} from '../engine/image/prune.js'
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

/** Engine errors the CLI answers with exit status 1 keep their message; a state conflict is Docker's 409. */
function conflictOrRethrow(error: unknown): never {
  if (error instanceof NcxError && /is not running|is already paused|is not paused/.test(error.message)) throw new ApiError(409, error.message)
  if (error instanceof NcxError && error.hint) throw new ApiError(500, `${error.message}: ${error.hint}`)
  throw error
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
    if (queryFilters(req.query).size > 0) throw new ApiError(400, 'container prune filters are not supported by ncx yet')
    const removed = await pruneContainers(engine)
    return {body: {ContainersDeleted: removed, SpaceReclaimed: 0}}
  })

  router.on('POST', '/images/prune', async (req) => {
    const filters = queryFilters(req.query)
    const dangling = filters.get('dangling')?.[0]
    for (const k of filters.keys()) if (k !== 'dangling') throw new ApiError(400, `image prune filter ${k} is not supported by ncx yet`)
    const report = pruneImages(engine, {all: dangling === 'false' || dangling === '0'})
    const deleted = report.images.flatMap((i) => [...i.untagged.map((u) => ({Untagged: u})), {Deleted: i.deleted}])
    return {body: {ImagesDeleted: deleted, SpaceReclaimed: report.spaceReclaimed}}
  })
}
