/**
 * bcrypt ($2y$) for the registry's htpasswd file, with Node built-ins only: the distribution
 * registry accepts nothing but bcrypt there, `openssl passwd` cannot make it, and `htpasswd`
 * (apache2-utils) is not installed by CI. Blowfish's initial P-array and S-boxes are the
 * hexadecimal digits of pi, computed here (Machin's formula over BigInt) instead of pasting
 * a 4 KiB table. Checked against libxcrypt's crypt(3) and accepted by the registry.
 */
import {randomBytes} from 'node:crypto'

const WORDS = 18 + 4 * 256

/** The first `WORDS` 32-bit words of pi's fractional part in hex (P-array then S-boxes). */
function piWords(): Uint32Array {
  const bits = BigInt(WORDS * 32 + 64) // guard bits against truncation in the series
  const one = 1n << bits
  const arctanInv = (x: bigint): bigint => {
    // arctan(1/x) = sum (-1)^k / ((2k+1) x^(2k+1)), fixed point
    let power = one / x
    const x2 = x * x
    let sum = 0n
    for (let k = 0n; power !== 0n; k++) {
      const term = power / (2n * k + 1n)
      sum = k % 2n === 0n ? sum + term : sum - term
      power /= x2
    }
    return sum
  }
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n)
  const frac = (pi & (one - 1n)) >> 64n // drop the integer part (3) and the guard bits
  const out = new Uint32Array(WORDS)
  for (let i = 0; i < WORDS; i++) out[i] = Number((frac >> BigInt((WORDS - 1 - i) * 32)) & 0xffffffffn)
  return out
}

let initial: Uint32Array | undefined

class Blowfish {
  readonly p: Uint32Array
  readonly s: Uint32Array // four 256-word boxes back to back

  constructor() {
    initial ??= piWords()
    this.p = initial.slice(0, 18)
    this.s = initial.slice(18)
  }

  private f(x: number): number {
    const s = this.s
    return ((((s[x >>> 24] + s[256 + ((x >>> 16) & 0xff)]) >>> 0) ^ s[512 + ((x >>> 8) & 0xff)]) + s[768 + (x & 0xff)]) >>> 0
  }

  /** Encrypts lr[off], lr[off+1] in place. */
  encipher(lr: Uint32Array, off: number): void {
    const p = this.p
    let l = lr[off] ^ p[0]
    let r = lr[off + 1]
    for (let i = 1; i <= 16; i += 2) {
      r ^= this.f(l) ^ p[i]
      l ^= this.f(r) ^ p[i + 1]
    }
    lr[off] = (r ^ p[17]) >>> 0
    lr[off + 1] = l >>> 0
  }

  /** Expensive key schedule step; `salt` undefined is bcrypt's expand0. */
  expand(key: Buffer, salt?: Buffer): void {
    let kpos = 0
    const keyWord = (): number => {
      let w = 0
      for (let i = 0; i < 4; i++) {
        w = ((w << 8) | key[kpos]) >>> 0
        kpos = (kpos + 1) % key.length
      }
      return w
    }
    for (let i = 0; i < 18; i++) this.p[i] = (this.p[i] ^ keyWord()) >>> 0
    let spos = 0
    const saltWord = (): number => {
      if (!salt) return 0
      let w = 0
      for (let i = 0; i < 4; i++) {
        w = ((w << 8) | salt[spos]) >>> 0
        spos = (spos + 1) % salt.length
      }
      return w
    }
    const lr = new Uint32Array(2)
    for (let i = 0; i < 18; i += 2) {
      lr[0] ^= saltWord()
      lr[1] ^= saltWord()
      this.encipher(lr, 0)
      this.p[i] = lr[0]
      this.p[i + 1] = lr[1]
    }
    for (let i = 0; i < 1024; i += 2) {
      lr[0] ^= saltWord()
      lr[1] ^= saltWord()
      this.encipher(lr, 0)
      this.s[i] = lr[0]
      this.s[i + 1] = lr[1]
    }
  }
}

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function encode64(data: Buffer, length: number): string {
  let out = ''
  let i = 0
  while (i < length) {
    let c1 = data[i++]
    out += ALPHABET[c1 >> 2]
    c1 = (c1 & 0x03) << 4
    if (i >= length) {
      out += ALPHABET[c1]
      break
    }
    let c2 = data[i++]
    c1 |= c2 >> 4
    out += ALPHABET[c1]
    c1 = (c2 & 0x0f) << 2
    if (i >= length) {
      out += ALPHABET[c1]
      break
    }
    c2 = data[i++]
    c1 |= c2 >> 6
    out += ALPHABET[c1] + ALPHABET[c2 & 0x3f]
  }
  return out
}

function decode64(text: string, length: number): Buffer {
  const out: number[] = []
  const v = (ch: string): number => {
    const n = ALPHABET.indexOf(ch)
    if (n < 0) throw new Error(`bcrypt: invalid salt character ${JSON.stringify(ch)}`)
    return n
  }
  let i = 0
  while (out.length < length && i + 1 < text.length) {
    const c1 = v(text[i++])
    const c2 = v(text[i++])
    out.push(((c1 << 2) | ((c2 & 0x30) >> 4)) & 0xff)
    if (out.length >= length || i >= text.length) break
    const c3 = v(text[i++])
    out.push((((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2)) & 0xff)
    if (out.length >= length || i >= text.length) break
    const c4 = v(text[i++])
    out.push((((c3 & 0x03) << 6) | c4) & 0xff)
  }
  return Buffer.from(out)
}

/**
 * bcrypt hash of `password`. `cost` is log2 of the rounds (4…31); the registry checks the
 * password on every request, so tests keep it low. `salt` (22 bcrypt-base64 characters) is
 * random unless given (for known-answer checks).
 */
export function bcrypt(password: string, cost = 5, salt?: string, prefix: '2a' | '2b' | '2y' = '2y'): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error(`bcrypt: cost ${cost} out of range 4…31`)
  const saltText = salt ?? encode64(randomBytes(16), 16)
  const saltBytes = decode64(saltText, 16)
  if (saltBytes.length !== 16) throw new Error('bcrypt: the salt must be 22 characters')
  const key = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]).subarray(0, 72)
  const bf = new Blowfish()
  bf.expand(key, saltBytes)
  for (let i = 0; i < 2 ** cost; i++) {
    bf.expand(key)
    bf.expand(saltBytes)
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt', 'latin1')
  const cdata = new Uint32Array(6)
  for (let i = 0; i < 6; i++) cdata[i] = text.readUInt32BE(i * 4)
  for (let i = 0; i < 64; i++) for (let j = 0; j < 6; j += 2) bf.encipher(cdata, j)
  const out = Buffer.alloc(24)
  for (let i = 0; i < 6; i++) out.writeUInt32BE(cdata[i], i * 4)
  const costText = String(cost).padStart(2, '0')
  return `$${prefix}$${costText}$${encode64(saltBytes, 16)}${encode64(out, 23)}`
}
