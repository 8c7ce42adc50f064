import {Engine} from '../engine/engine.js'
import {familiarName, parseReference} from '../engine/image/reference.js'

export type PullPolicy = 'missing' | 'never' | 'always'

/**
 * `run`/`create --pull`: pull when missing (default), always, or never, printing what
 * Docker prints on stderr. The registry code loads only when a pull happens.
 */
export async function ensureImage(engine: Engine, name: string, policy: PullPolicy, write: (text: string) => void): Promise<void> {
  const local = engine.images.find(name)
  if (policy === 'never' || (policy === 'missing' && local)) return
  if (!local) write(`Unable to find image '${familiarName(parseReference(name))}' locally\n`)
  const [{pullImage}, {LayerProgress}] = await Promise.all([import('../engine/image/pull.js'), import('./progress.js')])
  const progress = new LayerProgress(process.stderr, Boolean(process.stderr.isTTY))
  const result = await pullImage(engine, name, {onEvent: (e) => progress.handle(e)})
  write(`Digest: ${result.digest}\nStatus: ${result.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(parseReference(name))}\n`)
}
