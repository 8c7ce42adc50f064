import {Engine} from '../engine/engine.js'
import {NcxError} from '../engine/errors.js'
import {otherPlatform} from '../engine/image/platform.js'
import {familiarName, parseReference} from '../engine/image/reference.js'

export type PullPolicy = 'missing' | 'never' | 'always'

/**
 * `run`/`create --pull`: pull when missing (default), always, or never, printing what
 * Docker prints on stderr. The registry code loads only when a pull happens. With
 * `--platform`, a local image of another platform counts as missing (Docker pulls the
 * asked-for one); when it cannot be pulled, Docker's mismatch message says why. `-q` drops
 * the pull's progress and result lines (Docker still says "Unable to find image").
 */
export async function ensureImage(engine: Engine, name: string, policy: PullPolicy, write: (text: string) => void, platform?: string, quiet = false): Promise<void> {
  const local = engine.images.find(name)
  const mismatch = local && platform ? otherPlatform(engine, local.id, platform) : undefined
  const refuse = (cause?: unknown) =>
    new NcxError(`image with reference ${name} was found but does not match the specified platform: wanted ${platform}, actual: ${mismatch}`, {
      exitCode: 125,
      hint: cause instanceof Error ? `pulling it for ${platform} failed: ${cause.message}` : `pull it for ${platform} (ncx pull --platform ${platform} ${name}), or drop --platform`,
      ...(cause ? {cause} : {}),
    })
  if (policy === 'never' || (policy === 'missing' && local && !mismatch)) {
    if (mismatch) throw refuse()
    return
  }
  if (!local) write(`Unable to find image '${familiarName(parseReference(name))}' locally\n`)
  const [{pullImage}, {LayerProgress}] = await Promise.all([import('../engine/image/pull.js'), import('./progress.js')])
  const progress = quiet ? undefined : new LayerProgress(process.stderr, Boolean(process.stderr.isTTY))
  let result
  try {
    result = await pullImage(engine, name, {onEvent: (e) => progress?.handle(e), ...(platform ? {platform} : {})})
  } catch (error) {
    if (mismatch) throw refuse(error)
    throw error
  }
  if (quiet) return
  write(`Digest: ${result.digest}\nStatus: ${result.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(parseReference(name))}\n`)
}
