/**
 * A minimal npm registry for the @ncx scope, on 127.0.0.1: what npm asks when it resolves the
 * main package's optionalDependencies (the packument of each @ncx/native-<triple>, then the
 * tarball of the one whose os/cpu/libc match). Everything else comes from the ordinary
 * registry (`--@ncx:registry=URL` sends only this scope here). A triple whose tarball was not
 * built is still listed (from npm/<triple>/package.json) with a tarball URL that answers 404:
 * npm must skip it by its os/cpu/libc fields before fetching anything, as it would on npmjs.
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {type Server, createServer} from 'node:http'
import {type AddressInfo} from 'node:net'
import {basename, join} from 'node:path'

interface Manifest {
  name: string
  version: string
  [key: string]: unknown
}

export interface LocalRegistry {
  url: string
  /** Paths asked for, in order (to check what npm fetched). */
  requests: string[]
  close(): Promise<void>
}

/**
 * Serve the @ncx/native-* tarballs found in `tarballDir`, plus packuments for the triples
 * listed in `npmDir` (npm/<triple>/package.json) at `version`. `only` restricts what is served
 * at all (an empty list: every @ncx name answers 404, as for an unpublished platform).
 */
export async function startNativeRegistry(tarballDir: string, npmDir: string, version: string, only?: string[]): Promise<LocalRegistry> {
  const packuments = new Map<string, {manifest: Manifest; file?: string}>()
  for (const triple of readdirSync(npmDir)) {
    const file = join(npmDir, triple, 'package.json')
    if (!existsSync(file)) continue
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
    packuments.set(manifest.name, {manifest: {...manifest, version}})
  }
  for (const f of readdirSync(tarballDir).filter((f) => /^ncx-native-.*\.tgz$/.test(f))) {
    const path = join(tarballDir, f)
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', path, 'package/package.json'], {encoding: 'utf8'})) as Manifest
    if (manifest.version === version) packuments.set(manifest.name, {manifest, file: path})
  }
  if (only) for (const name of [...packuments.keys()]) if (!only.includes(name)) packuments.delete(name)

  const requests: string[] = []
  let base = ''
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0])
    requests.push(path)
    const tarball = /^\/-\/tarballs\/([^/]+\.tgz)$/.exec(path)
    if (tarball) {
      const entry = [...packuments.values()].find((p) => p.file && basename(p.file) === tarball[1])
      if (!entry?.file) return void res.writeHead(404).end('{"error":"not found"}')
      const body = readFileSync(entry.file)
      return void res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': body.length}).end(body)
    }
    const entry = packuments.get(path.slice(1))
    if (!entry) return void res.writeHead(404, {'content-type': 'application/json'}).end('{"error":"not found"}')
    const {manifest, file} = entry
    const tgzName = file ? basename(file) : `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`
    const dist: Record<string, string> = {tarball: `${base}/-/tarballs/${tgzName}`}
    if (file) {
      const body = readFileSync(file)
      dist.shasum = createHash('sha1').update(body).digest('hex')
      dist.integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`
    } else {
      // Never fetched when npm honours os/cpu/libc; a wrong integrity would make a fetch fail loudly.
      dist.integrity = `sha512-${createHash('sha512').update('not built').digest('base64')}`
    }
    const body = JSON.stringify({
      name: manifest.name,
      'dist-tags': {latest: manifest.version},
      versions: {[manifest.version]: {...manifest, dist}},
    })
    res.writeHead(200, {'content-type': 'application/json'}).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {url: `${base}/`, requests, close: () => new Promise((resolve) => server.close(() => resolve()))}
}
