/**
 * Reading one compose file: YAML (anchors, merge keys, `!reset`/`!override` tags) with
 * line numbers for messages, then interpolation of every value.
 *
 * Loading takes time and memory in proportion to the file, whatever it holds: the yaml
 * package parses (without its duplicate-key check, which compares every key of a mapping
 * with every other), and the document becomes plain values here in one pass, where an
 * alias finds its anchor in a table (the package looks through the whole document for
 * each one) and is a copy of the anchor's value (so interpolating one place never changes
 * another). Aliases that expand to much more than the file holds (a "billion laughs") are
 * refused before anything is expanded, by go-yaml's rule, which Docker Compose applies.
 */
import {getHeapStatistics} from 'node:v8'
import {Document, LineCounter, Node, Pair, isAlias, isMap, isNode, isPair, isScalar, isSeq, parseDocument} from 'yaml'

import {ComposeError, ModelPath} from './errors.js'
import {InterpolationError, Lookup, interpolate} from './interpolate.js'
import {OVERRIDE_KEY, RESET, SourceContext, isObj} from './schema.js'

export interface ParsedFile {
  file: string
  data: Record<string, unknown>
  line: (path: ModelPath) => number | undefined
}

/** go-yaml's limits: the share of a document's decoded nodes that may come from aliases, by its size. */
function allowedAliasRatio(decoded: number): number {
  if (decoded <= 400_000) return 0.99
  if (decoded >= 4_000_000) return 0.1
  return 0.99 - (0.89 * (decoded - 400_000)) / 3_600_000
}

/** A plain `<<` key: the yaml package (with `merge`) makes its value a symbol. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<'
}

/** A value as its own copy (what an alias stands for). */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy)
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) setKey(out, k, copy((v as Record<string, unknown>)[k]))
    return out
  }
  return v
}

/** `out[k] = v`, also for a key named `__proto__` (an own property, never the prototype). */
function setKey(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, {value: v, writable: true, enumerable: true, configurable: true})
  else out[k] = v
}

/** A parsed document as plain values, in one pass: see the module comment. */
class Converter {
  /** Expanded size (nodes) of each anchored node, and the latest node of each anchor name. */
  private readonly sizes = new Map<Node, number>()
  private readonly sizeAnchors = new Map<string, Node>()
  private readonly values = new Map<string, unknown>()

  constructor(
    private readonly file: string,
    private readonly lc: LineCounter,
  ) {}

  private fail(message: string, node: {range?: [number, number, number] | null} | undefined): never {
    const start = node?.range?.[0]
    throw new ComposeError(`invalid YAML: ${message}`, {file: this.file, line: start === undefined ? undefined : this.lc.linePos(start).line})
  }

  /**
   * How many nodes the document stands for once every alias is expanded, and how many of
   * them come from aliases, without expanding anything: refused past go-yaml's ratio.
   */
  checkAliasing(root: unknown): void {
    let source = 0
    const sizeOf = (node: unknown): number => {
      if (isAlias(node)) {
        const target = this.sizeAnchors.get(node.source)
        if (!target) this.fail(`unknown anchor ${JSON.stringify(node.source)} referenced (an alias needs its anchor before it)`, node)
        return this.sizes.get(target) ?? 1
      }
      source++
      let size = 1
      if (isMap(node)) for (const p of node.items) size += sizeOf(p.key) + sizeOf(p.value)
      else if (isSeq(node)) for (const item of node.items) size += sizeOf(item)
      if (isNode(node) && node.anchor) {
        this.sizes.set(node, size)
        this.sizeAnchors.set(node.anchor, node)
      }
      return size
    }
    const decoded = sizeOf(root)
    const aliased = decoded - source
    if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) {
      throw new ComposeError(`invalid YAML: document contains excessive aliasing (its aliases expand it to ${decoded} values, ${aliased} of them copies)`, {
        file: this.file,
        hint: 'a YAML "billion laughs"? anchors that refer to anchors multiply; use fewer levels or fewer aliases',
      })
    }
  }

  value(node: unknown): unknown {
    if (node === null || node === undefined) return null
    if (isAlias(node)) {
      if (!this.values.has(node.source)) this.fail(`unknown anchor ${JSON.stringify(node.source)} referenced (an alias needs its anchor before it)`, node)
      return copy(this.values.get(node.source))
    }
    if (!isNode(node)) return node
    let v: unknown
    if (node.tag === '!reset') v = RESET
    else if (isMap(node)) v = this.map(node.items as Pair[])
    else if (isSeq(node)) v = node.items.map((item) => this.value(item))
    else if (isScalar(node)) v = node.value === undefined ? null : node.value
    else this.fail('unexpected node', node)
    if (node.tag === '!override') v = {[OVERRIDE_KEY]: v}
    if (node.anchor) this.values.set(node.anchor, v)
    return v
  }

  private key(key: unknown): string {
    const k = isAlias(key) ? this.value(key) : isScalar(key) ? key.value : key === null ? null : undefined
    if (k === null || k === undefined) {
      if (key === null || (isScalar(key) && (key.value === null || key.value === undefined))) return ''
      return this.fail('a mapping key must be a string, a number or a boolean', isNode(key) ? key : undefined)
    }
    if (typeof k === 'object') return this.fail('a mapping key must be a string, a number or a boolean', isNode(key) ? key : undefined)
    return String(k)
  }

  private map(items: Pair[]): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const own = new Map<string, Pair>()
    const merged = new Set<string>()
    for (const pair of items) {
      if (!isPair(pair)) continue
      if (isMergeKey(pair.key)) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value]
        for (const src of sources) {
          const v = this.value(src)
          if (!isObj(v)) this.fail('merge sources (<<) must be mappings or aliases of mappings', isNode(src) ? src : isNode(pair.value) ? pair.value : undefined)
          for (const k of Object.keys(v)) {
            if (own.has(k) || merged.has(k)) continue
            merged.add(k)
            setKey(out, k, v[k])
          }
        }
        continue
      }
      const k = this.key(pair.key)
      const first = own.get(k)
      if (first) {
        const at = (first.key as {range?: [number, number, number]} | null)?.range?.[0]
        this.fail(`mapping key ${JSON.stringify(k)} already defined${at === undefined ? '' : ` at line ${this.lc.linePos(at).line}`}`, isNode(pair.key) ? pair.key : undefined)
      }
      own.set(k, pair)
      merged.delete(k)
      setKey(out, k, this.value(pair.value))
    }
    return out
  }
}

/** The line of a model path in a document: its key's line for a mapping entry, the item's for a list entry. */
function lineIn(doc: Document, lc: LineCounter, path: ModelPath): number | undefined {
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

function parse(text: string, lc: LineCounter): Document {
  return parseDocument(text, {merge: true, lineCounter: lc, uniqueKeys: false, prettyErrors: false})
}

/**
 * Peak memory of the yaml package per YAML node (its syntax tree and document together:
 * 700 to 1000 bytes measured) and per byte of text (the strings).
 */
const BYTES_PER_NODE = 1000
const BYTES_PER_BYTE = 10
/** Below this estimate the heap is not asked (Node's smallest default heap is hundreds of MB). */
const SMALL_TREE = 8 << 20

/** An upper bound on the nodes of a YAML text: every line, item separator, key indicator or opening bracket may start one. */
function nodeBound(text: string): number {
  let n = 1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || c === 44 || c === 58 || c === 91 || c === 123) n++ // \n , : [ {
  }
  return n
}

/**
 * Refuse a file this process cannot hold while parsing it (the yaml package keeps the whole
 * syntax tree): a clear message instead of the runtime aborting out of memory.
 */
function checkSize(text: string, file: string): void {
  const needed = nodeBound(text) * BYTES_PER_NODE + text.length * BYTES_PER_BYTE
  // (a file of a few MB of syntax tree fits any heap Node runs with: node:v8 not loaded for it)
  if (needed < SMALL_TREE) return
  const heap = getHeapStatistics()
  const available = heap.heap_size_limit - heap.used_heap_size
  if (needed > available * 0.9) {
    const mb = (b: number) => Math.ceil(b / 1024 / 1024)
    throw new ComposeError(`too large to load: its ${mb(Buffer.byteLength(text))} MB of YAML may need up to ${mb(needed)} MB of memory to parse, and ${mb(available)} MB are available`, {
      file,
      hint: `split it, or give Node more heap: NODE_OPTIONS=--max-old-space-size=${Math.ceil(mb(needed / 0.9 + heap.used_heap_size) / 1024) * 1024}`,
    })
  }
}

export function parseComposeYaml(text: string, file: string): ParsedFile {
  checkSize(text, file)
  let lc = new LineCounter()
  let doc: Document | undefined
  try {
    doc = parse(text, lc)
  } catch (error) {
    throw new ComposeError(`invalid YAML: ${(error as Error).message}`, {file})
  }
  const first = doc.errors[0]
  if (first) {
    const line = first.linePos?.[0]?.line ?? lc.linePos(first.pos[0]).line
    throw new ComposeError(`invalid YAML: ${first.message.split('\n')[0]}`, {file, line})
  }
  const converter = new Converter(file, lc)
  converter.checkAliasing(doc.contents)
  let data = converter.value(doc.contents)
  if (data === null || data === undefined) data = {}
  // The document is big (tens of bytes per byte of YAML): dropped now, parsed again only if a message needs a line.
  doc = undefined
  let again: Document | undefined
  const line = (path: ModelPath): number | undefined => {
    if (!again) {
      lc = new LineCounter()
      again = parse(text, lc)
    }
    return lineIn(again, lc, path)
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
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i], [...path, i])
      return v
    }
    if (isObj(v)) {
      for (const k of Object.keys(v)) setKey(v, k, walk(v[k], [...path, k]))
      return v
    }
    return v
  }
  walk(parsed.data, [])
}

export function contextOf(parsed: ParsedFile, baseDir: string): SourceContext {
  return {file: parsed.file, baseDir, line: parsed.line}
}
