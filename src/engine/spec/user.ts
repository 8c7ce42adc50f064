import {lstatSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {NcxError, UsageError} from '../errors.js'

export interface ResolvedUser {
  uid: number
  gid: number
  additionalGids: number[]
  home: string
}

/**
 * Read a file of the image by walking its layer directories from the top, refusing
 * symlinks on the way (a planted link must not make ncx read a host file) and stopping
 * at a whiteout.
 */
export function readImageFile(layerDirs: string[], path: string): string | undefined {
  const parts = path.split('/').filter(Boolean)
  for (const dir of layerDirs) {
    let current = dir
    let blocked = false
    for (const [i, part] of parts.entries()) {
      current = join(current, part)
      let st
      try {
        st = lstatSync(current)
      } catch {
        blocked = true
        break
      }
      if (st.isSymbolicLink()) return undefined
      if (st.isCharacterDevice() && st.rdev === 0) return undefined // whiteout
      if (i < parts.length - 1 && !st.isDirectory()) return undefined
    }
    if (!blocked) {
      try {
        return readFileSync(current, 'utf8')
      } catch {
        return undefined
      }
    }
  }
  return undefined
}

interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && f[0] !== '')
    .map((f) => ({name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5]}))
}

function parseGroup(text: string | undefined): Array<{name: string; gid: number; members: string[]}> {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && f[0] !== '')
    .map((f) => ({name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean)}))
}

const isId = (s: string) => /^\d+$/.test(s)

/** Resolve Docker's `-u` forms (`uid`, `uid:gid`, `name`, `name:group`) against the image. */
export function resolveUser(spec: string, layerDirs: string[]): ResolvedUser {
  const [userPart, groupPart] = spec === '' ? ['0', undefined] : spec.split(':', 2)
  if (userPart === '' || groupPart === '') throw new UsageError(`invalid user ${JSON.stringify(spec)}`, 'use -u UID[:GID] or -u NAME[:GROUP]')
  const passwd = parsePasswd(readImageFile(layerDirs, '/etc/passwd'))
  const groups = parseGroup(readImageFile(layerDirs, '/etc/group'))
  let entry = passwd.find((p) => (isId(userPart) ? p.uid === Number(userPart) : p.name === userPart))
  if (!entry) {
    if (!isId(userPart)) throw new NcxError(`unable to find user ${userPart}: no matching entries in passwd file`, {hint: 'use a numeric -u UID[:GID] or a user the image defines'})
    entry = {name: userPart, uid: Number(userPart), gid: 0, home: '/'}
  }
  let gid = entry.gid
  if (groupPart !== undefined) {
    if (isId(groupPart)) gid = Number(groupPart)
    else {
      const group = groups.find((g) => g.name === groupPart)
      if (!group) throw new NcxError(`unable to find group ${groupPart}: no matching entries in group file`)
      gid = group.gid
    }
  }
  // As runc does: supplementary groups from /etc/group membership, else the primary group.
  const member = groupPart === undefined ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : []
  const additionalGids = member.length > 0 ? member : [gid]
  for (const id of [entry.uid, gid]) {
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new UsageError(`invalid user ${JSON.stringify(spec)}: id out of range`)
  }
  return {uid: entry.uid, gid, additionalGids, home: entry.home || '/'}
}

/** `--group-add` entries (names or numeric ids) → gids, names looked up in the image's /etc/group. */
export function resolveGroups(entries: readonly string[], layerDirs: string[]): number[] {
  if (entries.length === 0) return []
  const groups = parseGroup(readImageFile(layerDirs, '/etc/group'))
  return entries.map((e) => {
    if (isId(e)) return Number(e)
    const g = groups.find((x) => x.name === e)
    if (!g) throw new NcxError(`unable to find group ${e}: no matching entries in group file`, {hint: 'use a numeric gid, or a group of the image\'s /etc/group'})
    return g.gid
  })
}
