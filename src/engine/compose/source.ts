/**
 * Reading one compose file: YAML (anchors, merge keys, `!reset`/`!override` tags) with
 * line numbers for messages, then interpolation of every value.
 */
import {Document, LineCounter, Scalar, YAMLMap, isMap, isNode, isScalar, isSeq, parseDocument, visit} from 'yaml'

import {ComposeError, ModelPath} from './errors.js'
import {InterpolationError, Lookup, interpolate} from './interpolate.js'
import {OVERRIDE_KEY, RESET, SourceContext, isObj} from './schema.js'

export interface ParsedFile {
  file: string
  data: Record<string, unknown>
  line: (path: ModelPath) => number | undefined
}

export function parseComposeYaml(text: string, file: string): ParsedFile {
  const lc = new LineCounter()
  let doc: Document
  try {
    doc = parseDocument(text, {merge: true, lineCounter: lc, uniqueKeys: true, prettyErrors: false})
  } catch (error) {
    throw new ComposeError(`invalid YAML: ${(error as Error).message}`, {file})
  }
  const first = doc.errors[0]
  if (first) {
    const line = first.linePos?.[0]?.line ?? lc.linePos(first.pos[0]).line
    throw new ComposeError(`invalid YAML: ${first.message.split('\n')[0]}`, {file, line})
  }
  // Compose's tags: `!reset` drops an inherited value, `!override` replaces it whole.
  visit(doc, {
    Node(_key, node) {
      if (!isNode(node) || !node.tag) return undefined
      if (node.tag === '!reset') return new Scalar(RESET)
      if (node.tag === '!override') {
        node.tag = undefined
        const wrap = new YAMLMap()
        wrap.set(OVERRIDE_KEY, node)
        return wrap
      }
      return undefined
    },
  })
  let data: unknown
  try {
    data = doc.toJS({maxAliasCount: 10000})
  } catch (error) {
    throw new ComposeError(`invalid YAML: ${(error as Error).message}`, {file})
  }
  if (data === null || data === undefined) data = {}
  // The line of a path: its key's line for a mapping entry, the item's for a list entry.
  const line = (path: ModelPath): number | undefined => {
    for (let n = path.length; n > 0; n--) {
      const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)
      const last = path[n - 1]
      let node: unknown
      if (isMap(parent)) node = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last))?.key
      else if (isSeq(parent) && typeof last === 'number') node = parent.items[last]
      const range = (node as {range?: [number, number, number]} | undefined)?.range
      if (node && isNode(node) && range) return lc.linePos(range[0]).line
    }
    return undefined
  }
  if (!isObj(data)) throw new ComposeError('top-level object must be a mapping', {file, line: 1})
  return {file, data, line}
}

/** Interpolate every value (not keys) in place; errors carry the path and line. */
export function interpolateTree(parsed: ParsedFile, lookup: Lookup, onUnset: (name: string) => void): void {
  const walk = (v: unknown, path: Array<string | number>): unknown => {
    if (typeof v === 'string') {
      try {
        return interpolate(v, lookup, onUnset)
      } catch (error) {
        if (error instanceof InterpolationError) throw new ComposeError(error.message, {file: parsed.file, path, line: parsed.line(path), hint: error.message.startsWith('required') ? undefined : 'write $$ for a literal $'})
        throw error
      }
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]))
    if (isObj(v)) {
      for (const k of Object.keys(v)) v[k] = walk(v[k], [...path, k])
      return v
    }
    return v
  }
  walk(parsed.data, [])
}

export function contextOf(parsed: ParsedFile, baseDir: string): SourceContext {
  return {file: parsed.file, baseDir, line: parsed.line}
}
