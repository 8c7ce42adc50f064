import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {parseRunArgv} from '../../src/cli/run-flags.js'
import {NcxError, NotFoundError, UsageError} from '../../src/engine/errors.js'
import {keepIdMappings, keepIdPasswd, keepIdUser} from '../../src/engine/rootless/keepid.js'
import {storePaths} from '../../src/engine/store/paths.js'
import {ContainerMount, hostConfigMounts, mergeMounts, ociMounts, resolveMounts} from '../../src/engine/volume/attach.js'
import {parseMountFlag, parseSize, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom} from '../../src/engine/volume/spec.js'
import {ANONYMOUS_LABEL, VolumeStore, VolumeUser, parseVolumeFilters} from '../../src/engine/volume/store.js'

describe('-v / --volume (src/engine/volume/spec.ts)', () => {
  it('takes Docker forms: name:/dst, /abs:/dst:opts, relative host paths, anonymous /dst', () => {
    expect(parseVolumeFlag('pgdata:/var/lib/data', '/w')).to.deep.equal({type: 'volume', source: 'pgdata', target: '/var/lib/data', readonly: false, bind: 'pgdata:/var/lib/data'})
    expect(parseVolumeFlag('/host/src:/src:ro,z', '/w')).to.include({type: 'bind', source: '/host/src', target: '/src', readonly: true, createSource: true})
    expect(parseVolumeFlag('.:/src', '/home/me/proj')).to.include({type: 'bind', source: '/home/me/proj'})
    expect(parseVolumeFlag('./data/:/d', '/home/me')).to.include({source: '/home/me/data'})
    expect(parseVolumeFlag('../x:/d', '/home/me')).to.include({source: '/home/x'})
    expect(parseVolumeFlag('/anon/', '/w')).to.deep.equal({type: 'volume', target: '/anon', readonly: false, bind: '/anon/'})
    expect(parseVolumeFlag('/h:/c:rslave', '/w').propagation).to.equal('rslave')
    expect(parseVolumeFlag('v1:/c:nocopy,ro', '/w')).to.include({nocopy: true, readonly: true})
  })

  it('refuses bad specs with Docker\'s messages', () => {
    expect(() => parseVolumeFlag('a:b:c:d')).to.throw(UsageError, "invalid volume specification: 'a:b:c:d'")
    expect(() => parseVolumeFlag('/h:rel')).to.throw(UsageError, "invalid mount path: 'rel' mount path must be absolute")
    expect(() => parseVolumeFlag('/h:/')).to.throw(UsageError, "destination can't be '/'")
    expect(() => parseVolumeFlag('/data:ro')).to.throw(UsageError, /a mode needs a source/)
    expect(() => parseVolumeFlag('my vol:/d')).to.throw(UsageError, /includes invalid characters for a local volume name.*use absolute path/)
    expect(() => parseVolumeFlag('/h:/c:rw,ro')).to.throw(UsageError, 'invalid mode: rw,ro')
    expect(() => parseVolumeFlag('/h:/c:bogus')).to.throw(UsageError, 'invalid mode: bogus')
    expect(() => parseVolumeFlag('vol:/c:rshared')).to.throw(UsageError, 'invalid mode: rshared')
    expect(() => parseVolumeFlag('/h:/c:nocopy')).to.throw(UsageError, 'invalid mode: nocopy')
    expect(() => parseVolumeFlag('')).to.throw(UsageError)
  })
})

describe('--mount (src/engine/volume/spec.ts)', () => {
  it('parses bind, volume and tmpfs mounts with their options', () => {
    expect(parseMountFlag('type=bind,src=.,dst=/src,readonly', '/w')).to.deep.equal({type: 'bind', source: '/w', target: '/src', readonly: true})
    expect(parseMountFlag('type=bind,source=/h,target=/t,bind-propagation=rshared,ro=false', '/w')).to.deep.equal({type: 'bind', source: '/h', target: '/t', readonly: false, propagation: 'rshared'})
    expect(parseMountFlag('src=v1,dst=/d,volume-nocopy,volume-label=a=b,volume-opt=type=tmpfs', '/w')).to.deep.equal({
      type: 'volume', source: 'v1', target: '/d', readonly: false, nocopy: true, volumeLabels: {a: 'b'}, volumeOptions: {type: 'tmpfs'},
    })
    expect(parseMountFlag('type=volume,destination=/anon', '/w')).to.deep.equal({type: 'volume', target: '/anon', readonly: false})
    expect(parseMountFlag('type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770', '/w')).to.deep.equal({type: 'tmpfs', target: '/run', readonly: false, tmpfsSize: 64 * 1024 * 1024, tmpfsMode: 0o1770})
    expect(parseMountFlag('"type=bind","src=/a,b",dst=/c', '/w').source).to.equal('/a,b')
  })

  it('refuses bad fields precisely', () => {
    expect(() => parseMountFlag('type=bind,dst=/x')).to.throw(UsageError, 'invalid mount config for type "bind": field Source must not be empty')
    expect(() => parseMountFlag('type=bind,src=/a')).to.throw(UsageError, 'invalid argument "type=bind,src=/a" for "--mount" flag: target is required')
    expect(() => parseMountFlag('type=foo,dst=/x')).to.throw(UsageError, "invalid mount type 'foo'")
    expect(() => parseMountFlag('type=bind,src=/a,dst=/x,colour=red')).to.throw(UsageError, "unexpected key 'colour' in 'colour=red'")
    expect(() => parseMountFlag('type=tmpfs,src=/a,dst=/x')).to.throw(UsageError, 'field Source must not be specified')
    expect(() => parseMountFlag('type=bind,src=/a,dst=/x,tmpfs-size=1m')).to.throw(UsageError, 'field tmpfs-size is only valid for type tmpfs')
    expect(() => parseMountFlag('type=tmpfs,dst=/x,volume-nocopy')).to.throw(UsageError, 'field volume-nocopy is only valid for type volume')
    expect(() => parseMountFlag('type=tmpfs,dst=/x,tmpfs-size=lots')).to.throw(UsageError, 'invalid tmpfs-size')
    expect(() => parseMountFlag('type=tmpfs,dst=/x,tmpfs-mode=999')).to.throw(UsageError, 'invalid tmpfs-mode')
    expect(() => parseMountFlag('type=bind,src=/a,dst=/x,bind-propagation=sideways')).to.throw(UsageError, 'invalid bind-propagation')
    expect(() => parseMountFlag('type=bind,src=/a,dst=/x,readonly=maybe')).to.throw(UsageError, 'invalid value for readonly: maybe')
    expect(() => parseMountFlag('type=volume,src=a/b,dst=/x')).to.throw(UsageError, 'invalid volume name')
    expect(() => parseMountFlag('src=v,dst=/x,volume-driver=nfs')).to.throw(UsageError, 'the local driver only')
  })
})

describe('--tmpfs, --volumes-from, sizes', () => {
  it('parses --tmpfs with mount options', () => {
    expect(parseTmpfsFlag('/run:size=64m,mode=1777,exec')).to.deep.equal({type: 'tmpfs', target: '/run', readonly: false, tmpfsOptions: ['exec'], tmpfsSize: 64 << 20, tmpfsMode: 0o1777})
    expect(parseTmpfsFlag('/t')).to.deep.equal({type: 'tmpfs', target: '/t', readonly: false, tmpfsOptions: []})
    expect(() => parseTmpfsFlag('/t:size=big')).to.throw(UsageError, 'invalid tmpfs option "size=big"')
    expect(() => parseTmpfsFlag('/t:frobnicate')).to.throw(UsageError, 'invalid tmpfs option "frobnicate"')
    expect(() => parseTmpfsFlag('rel')).to.throw(UsageError, 'mount path must be absolute')
  })

  it('parses --volumes-from and sizes', () => {
    expect(parseVolumesFrom('db:ro')).to.deep.equal({container: 'db', mode: 'ro'})
    expect(parseVolumesFrom('db')).to.deep.equal({container: 'db'})
    expect(() => parseVolumesFrom('db:rx')).to.throw(UsageError, 'expected CONTAINER[:ro|rw]')
    expect(parseSize('1024')).to.equal(1024)
    expect(parseSize('1k')).to.equal(1024)
    expect(parseSize('1.5g')).to.equal(1.5 * 1024 ** 3)
    expect(parseSize('x')).to.equal(undefined)
  })

  it('run/create take the mount flags into the options (no longer refused)', () => {
    const inv = parseRunArgv(['-v', 'data:/d', '--mount', 'type=tmpfs,dst=/t', '--tmpfs', '/run', '--volumes-from', 'db:ro', '--userns', 'keep-id', '--read-only', 'img'], {})
    expect(inv.options.mounts?.map((m) => m.type)).to.deep.equal(['volume', 'tmpfs', 'tmpfs'])
    expect(inv.options.volumesFrom).to.deep.equal(['db:ro'])
    expect(inv.options.userns).to.equal('keep-id')
    expect(inv.options.readOnly).to.equal(true)
    expect(() => parseRunArgv(['--userns', 'private', 'img'], {})).to.throw(UsageError, 'invalid --userns "private"')
    expect(() => parseRunArgv(['--volumes-from', 'a:b:c', 'img'], {})).to.throw(UsageError)
  })
})

describe('OCI mounts and inspect views (src/engine/volume/attach.ts)', () => {
  const m = (Destination: string, extra: Partial<ContainerMount> = {}): ContainerMount => ({Type: 'bind', Source: '/h', Destination, Mode: '', RW: true, Propagation: 'rprivate', Options: ['rbind', 'rprivate', 'rw'], ...extra})

  it('mounts parents before children, user mounts replacing defaults at the same place', () => {
    const defaults = [
      {destination: '/proc', type: 'proc', source: 'proc'},
      {destination: '/dev/shm', type: 'tmpfs', source: 'shm'},
      {destination: '/etc/hosts', type: 'bind', source: '/b/hosts'},
    ]
    const user = ociMounts([m('/etc/x/y'), m('/etc'), m('/dev/shm/', {Type: 'tmpfs', Options: ['size=1']})])
    const merged = mergeMounts(defaults, user)
    expect(merged.map((x) => x.destination)).to.deep.equal(['/proc', '/etc', '/etc/hosts', '/dev/shm/', '/etc/x/y'])
    expect(merged.find((x) => x.destination === '/dev/shm/')?.type).to.equal('tmpfs')
    expect(merged.filter((x) => x.destination.startsWith('/dev/shm'))).to.have.length(1)
  })

  it('HostConfig: Binds for -v with a source, Mounts for --mount, Tmpfs for --tmpfs', () => {
    const specs = [parseVolumeFlag('/h:/c:ro', '/w'), parseVolumeFlag('/anon', '/w'), parseMountFlag('type=volume,src=v1,dst=/v,volume-nocopy', '/w'), parseTmpfsFlag('/run:size=1k')]
    const hc = hostConfigMounts(specs, ['db'])
    expect(hc.Binds).to.deep.equal(['/h:/c:ro'])
    expect(hc.Mounts).to.deep.equal([{Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: {NoCopy: true}}])
    expect(hc.Tmpfs).to.deep.equal({'/run': 'nosuid,nodev,noexec,size=1024'})
    expect(hc.VolumesFrom).to.deep.equal(['db'])
  })
})

describe('VolumeStore (src/engine/volume/store.ts)', () => {
  let dir: string
  let users: VolumeUser[]
  let userReads = 0
  let store: VolumeStore
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ncx-unit-vol-'))
    users = []
    userReads = 0
    store = new VolumeStore(storePaths({dataRoot: dir, uid: 1000, env: {}}), () => (userReads++, users), (dirs) => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('keeps Docker\'s layout: volumes/<name>/_data and a record', () => {
    const {volume, created} = store.create({name: 'pgdata', labels: {app: 'db'}})
    expect(created).to.equal(true)
    expect(volume.mountpoint).to.equal(join(dir, 'volumes', 'pgdata', '_data'))
    expect(existsSync(join(dir, 'volumes', 'pgdata', 'volume.json'))).to.equal(true)
    expect(store.create({name: 'pgdata'}).created).to.equal(false)
    const doc = store.inspect('pgdata')
    expect(doc).to.include({Name: 'pgdata', Driver: 'local', Scope: 'local', Mountpoint: volume.mountpoint, Options: null})
    expect(doc.Labels).to.deep.equal({app: 'db'})
    expect(doc.CreatedAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it('validates names, drivers and options', () => {
    expect(() => store.create({name: 'a/b'})).to.throw(UsageError, 'includes invalid characters')
    expect(() => store.create({name: 'v'})).to.throw(UsageError, 'includes invalid characters') // Docker: two characters at least
    expect(() => store.create({name: 'x1', driver: 'nfs'})).to.throw(UsageError, 'plugin "nfs" not found')
    expect(() => store.create({name: 'x2', options: {type: 'nfs', device: ':/x'}})).to.throw(UsageError, 'needs root')
    expect(() => store.create({name: 'x3', options: {type: 'none', o: 'bind'}})).to.throw(UsageError, 'device=/absolute')
    expect(store.create({name: 'x4', options: {type: 'none', o: 'bind', device: '/srv'}}).volume.options).to.deep.equal({type: 'none', o: 'bind', device: '/srv'})
    store.create({name: 'x5'})
    expect(() => store.create({name: 'x5', options: {type: 'tmpfs', device: 'tmpfs'}})).to.throw(NcxError, 'already exists with different options')
  })

  it('refuses to remove a volume in use, names it, and -f ignores only missing ones', () => {
    store.create({name: 'vol'})
    users = [{id: 'c'.repeat(64), mounts: [{Type: 'volume', Name: 'vol'}]}]
    expect(() => store.remove('vol')).to.throw(NcxError, `remove vol: volume is in use - [${'c'.repeat(64)}]`)
    expect(() => store.remove('vol', {force: true})).to.throw(NcxError, 'volume is in use')
    expect(() => store.remove('nope')).to.throw(NotFoundError, 'get nope: no such volume')
    store.remove('nope', {force: true})
    users = []
    store.remove('vol')
    expect(store.find('vol')).to.equal(undefined)
  })

  it('lists with filters; prune takes anonymous unused volumes, or all unused with -a', () => {
    store.create({name: 'named', labels: {k: 'v'}})
    store.create({name: 'busy'})
    const anon = store.create({createdFor: 'x'}).volume
    expect(anon.name).to.match(/^[0-9a-f]{64}$/)
    expect(anon.labels).to.have.property(ANONYMOUS_LABEL)
    writeFileSync(join(anon.mountpoint, 'f'), 'data')
    users = [{id: 'c1', mounts: [{Type: 'volume', Name: 'busy'}]}]
    expect(store.list(parseVolumeFilters(['dangling=false'])).map((v) => v.name)).to.deep.equal(['busy'])
    expect(store.list(parseVolumeFilters(['label=k=v'])).map((v) => v.name)).to.deep.equal(['named'])
    expect(store.list(parseVolumeFilters(['name=am'])).map((v) => v.name)).to.deep.equal(['named'])
    expect(() => parseVolumeFilters(['colour=red'])).to.throw(UsageError, "Invalid filter 'colour'")
    const first = store.prune()
    expect(first).to.deep.equal({removed: [anon.name], reclaimed: 4})
    expect(store.prune({all: true}).removed).to.deep.equal(['named'])
    expect(store.list().map((v) => v.name)).to.deep.equal(['busy'])
  })

  it('removes anonymous volumes with their container, not when another container shares them', () => {
    const a = store.create({createdFor: 'c1'}).volume.name
    const b = store.create({createdFor: 'c1'}).volume.name
    store.create({name: 'kept'})
    users = [{id: 'c2', mounts: [{Type: 'volume', Name: b}]}]
    expect(store.removeAnonymousOf('c1')).to.deep.equal([a])
    expect(store.list().map((v) => v.name).sort()).to.deep.equal([b, 'kept'].sort())
  })

  it('collects anonymous volumes of --rm containers whose monitor removed them', () => {
    const gone = store.create({createdFor: 'dead', autoRemove: true}).volume.name
    const live = store.create({createdFor: 'alive', autoRemove: true}).volume.name
    users = [{id: 'alive', mounts: [{Type: 'volume', Name: live}]}]
    expect(store.list().map((v) => v.name)).to.deep.equal([live])
    expect(existsSync(join(dir, 'volumes', gone))).to.equal(false)
  })

  it('lists without reading the containers when no volume could be an orphan (volume ls stays O(volumes))', () => {
    store.create({name: 'named'})
    store.create({createdFor: 'kept-with-its-container'}) // anonymous, no --rm: never collected
    userReads = 0
    expect(store.list()).to.have.length(2)
    expect(userReads).to.equal(0)
    store.create({createdFor: 'gone', autoRemove: true})
    expect(store.list()).to.have.length(2)
    expect(userReads).to.be.greaterThan(0) // the orphan is found, and checked again under the lock
  })

  it('resolves mounts: named volumes on first use, anonymous ones, image VOLUMEs, duplicates refused', () => {
    const host = join(dir, 'host')
    const specs = [parseVolumeFlag('db:/var/lib/db', dir), parseVolumeFlag(`${host}/new:/src:ro`, dir), parseTmpfsFlag('/run:size=1m')]
    const mounts = resolveMounts({volumes: store, containerId: 'c1', autoRemove: false, imageVolumes: ['/data/', '/var/lib/db'], volumesFrom: []}, specs)
    expect(mounts.map((x) => [x.Type, x.Destination, x.RW])).to.deep.equal([
      ['volume', '/var/lib/db', true],
      ['bind', '/src', false],
      ['tmpfs', '/run', true],
      ['volume', '/data', true],
    ])
    expect(mounts[0]).to.include({Name: 'db', CopyUp: true})
    expect(mounts[3].Anonymous).to.equal(true)
    expect(existsSync(join(host, 'new'))).to.equal(true) // -v creates a missing host directory
    expect(() => resolveMounts({volumes: store, containerId: 'c2', autoRemove: false, imageVolumes: [], volumesFrom: []}, [parseMountFlag(`type=bind,src=${host}/missing,dst=/x`, dir)])).to.throw(
      UsageError,
      `invalid mount config for type "bind": bind source path does not exist: ${host}/missing`,
    )
    expect(() => resolveMounts({volumes: store, containerId: 'c3', autoRemove: false, imageVolumes: [], volumesFrom: []}, [parseVolumeFlag('/x', dir), parseTmpfsFlag('/x/')])).to.throw(UsageError, 'Duplicate mount point: /x')
    // a failed resolution leaves no anonymous volume behind
    const before = store.list().length
    expect(() => resolveMounts({volumes: store, containerId: 'c4', autoRemove: false, imageVolumes: [], volumesFrom: []}, [parseVolumeFlag('/a', dir), parseMountFlag(`type=bind,src=${host}/missing,dst=/b`, dir)])).to.throw(UsageError)
    expect(store.list().length).to.equal(before)
    // --volumes-from: the other container's binds and volumes, mode overridden
    const from = resolveMounts({volumes: store, containerId: 'c5', autoRemove: false, imageVolumes: [], volumesFrom: [{container: 'c1', mounts, mode: 'ro'}]}, [])
    expect(from.map((x) => [x.Destination, x.RW, x.Options.at(-1)])).to.deep.equal([
      ['/var/lib/db', false, 'ro'],
      ['/src', false, 'ro'],
      ['/data', false, 'ro'],
    ])
    expect(from.some((x) => x.CopyUp || x.Anonymous)).to.equal(false)
  })
})

describe('keep-id mappings (src/engine/rootless/keepid.ts)', () => {
  it('maps the user\'s id to itself and the rest around it, in held-namespace ids', () => {
    expect(keepIdMappings(1000, 65537)).to.deep.equal([
      {containerID: 0, hostID: 1, size: 1000},
      {containerID: 1000, hostID: 0, size: 1},
      {containerID: 1001, hostID: 1001, size: 64536},
    ])
    // every held id used exactly once
    const ids = keepIdMappings(1000, 65537).flatMap((m) => Array.from({length: m.size}, (_, i) => m.hostID + i)).sort((a, b) => a - b)
    expect(ids).to.have.length(65537)
    expect(ids.every((v, i) => v === i)).to.equal(true)
    expect(keepIdMappings(70000, 65537)).to.deep.equal([{containerID: 0, hostID: 1, size: 65536}, {containerID: 70000, hostID: 0, size: 1}])
    expect(keepIdMappings(1000, 1)).to.deep.equal([{containerID: 1000, hostID: 0, size: 1}])
  })

  it('adds a passwd entry for the user only when the image has none for that uid', () => {
    const me = {uid: 1000, gid: 1001}
    expect(keepIdPasswd('root:x:0:0:root:/root:/bin/sh\n', 'alice', me)).to.equal('root:x:0:0:root:/root:/bin/sh\nalice:*:1000:1001:alice:/:/bin/sh\n')
    expect(keepIdPasswd('me:x:1000:1001::/home/me:/bin/sh', 'alice', me)).to.equal(undefined)
    // a name the image uses for another uid (or an odd one) is not taken
    expect(keepIdPasswd('root:x:0:0:root:/root:/bin/sh', 'root', me)).to.equal('root:x:0:0:root:/root:/bin/sh\nuser1000:*:1000:1001:user1000:/:/bin/sh\n')
    expect(keepIdPasswd(undefined, 'a b', me)).to.equal('user1000:*:1000:1001:user1000:/:/bin/sh\n')
    expect(keepIdUser()).to.deep.equal({uid: process.getuid!(), gid: process.getgid!()})
  })
})
