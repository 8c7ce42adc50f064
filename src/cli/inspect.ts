/**
 * `inspect` of any object, as docker/cli's system/inspect.go does it: each name is looked up
 * as a container, then an image, a volume, a network (the first that exists wins), or only
 * as the `--type` given. What was found is printed (Docker's 4-space JSON array, or one
 * template line each), `[]` when nothing was; every name not found is an error (exit 1).
 */
import {Engine} from '../engine/engine.js'
import {NcxError} from '../engine/errors.js'
import {inspectContainer} from '../engine/container/inspect.js'
import {ImageInspect, inspectImage} from '../engine/image/inspect.js'
import {findNetworkInspect} from '../engine/network/inspect.js'
import {compileTemplate} from './template.js'

/** A Go nil slice or map: prints as `[]` / `map[]`, encodes as `null`. */
function goNil<T extends object>(value: T): T {
  return Object.defineProperty(value, 'toJSON', {value: () => null, enumerable: false})
}

/**
 * What a Go template sees. Docker formats its Go structs, where an unset field still exists:
 * `{{.Config.Entrypoint}}` prints `[]`, `{{json .Config.Labels}}` prints `null`, while
 * `{{json .Config}}` leaves empty fields out (omitempty). Unset fields are therefore added
 * as non-enumerable properties: visible to lookups, invisible to JSON.
 */
export function imageTemplateData(doc: ImageInspect): object {
  const hide = (obj: object, key: string, value: unknown) => {
    if (!(key in obj)) Object.defineProperty(obj, key, {value, enumerable: false})
  }
  const config = {...doc.Config}
  for (const k of ['Env', 'Cmd', 'Entrypoint', 'OnBuild', 'Shell']) hide(config, k, goNil([]))
  for (const k of ['Labels', 'ExposedPorts', 'Volumes']) hide(config, k, goNil({}))
  for (const k of ['User', 'WorkingDir', 'StopSignal']) hide(config, k, '')
  hide(config, 'ArgsEscaped', false)
  const data = {...doc, Config: config}
  for (const k of ['Created', 'Variant', 'OsVersion']) hide(data, k, '')
  return data
}

export const INSPECT_TYPES = ['container', 'image', 'volume', 'network'] as const
export type InspectType = (typeof INSPECT_TYPES)[number]

/** The object of one type by name, or undefined when there is none. */
function lookup(engine: Engine, type: InspectType, name: string, size: boolean): {json: object; template: object} | undefined {
  const quietly = <T>(fn: () => T | undefined): T | undefined => {
    try {
      return fn()
    } catch (error) {
      // Not found, or not a valid name for that type (an invalid reference: no such image).
      if (error instanceof NcxError) return undefined
      throw error
    }
  }
  switch (type) {
    case 'container': {
      const record = engine.containers.find(name)
      if (!record) return undefined
      const doc = inspectContainer(engine, record, {size})
      return {json: doc, template: doc}
    }
    case 'image': {
      const image = quietly(() => engine.images.find(name))
      if (!image) return undefined
      const doc = inspectImage(engine, image)
      return {json: doc, template: imageTemplateData(doc)}
    }
    case 'volume': {
      const doc = quietly(() => engine.volumes.inspect(name))
      return doc && {json: doc, template: doc}
    }
    case 'network': {
      const doc = findNetworkInspect(engine, name)
      return doc && {json: doc, template: doc}
    }
  }
}

const MISSING: Record<InspectType, string> = {container: 'container', image: 'image', volume: 'volume', network: 'network'}

export interface InspectOutput {
  /** For stdout. */
  text: string
  /** One message per name not found (Docker's `No such object: NAME`). */
  errors: string[]
}

/** `types`: the types to try, in Docker's order; one type names it in the error. */
export function inspectObjects(engine: Engine, names: string[], types: readonly InspectType[], options: {format?: string; size?: boolean}): InspectOutput {
  const found: Array<{json: object; template: object}> = []
  const errors: string[] = []
  for (const name of names) {
    let hit: {json: object; template: object} | undefined
    for (const type of types) {
      hit = lookup(engine, type, name, options.size ?? false)
      if (hit) break
    }
    if (hit) found.push(hit)
    else errors.push(types.length === 1 ? `No such ${MISSING[types[0]]}: ${name}` : `No such object: ${name}`)
  }
  const {format} = options
  if (format === undefined || format === '' || format === 'json') {
    // Docker's daemon encodes with Go's HTML-safe escaping, which its CLI keeps when indenting.
    const json = JSON.stringify(found.map((f) => f.json), null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    return {text: json + '\n', errors}
  }
  const tpl = compileTemplate(format)
  return {text: found.map((f) => tpl.render(f.template) + '\n').join(''), errors}
}
