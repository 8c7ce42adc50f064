import {expect} from 'chai'

import {imageTemplateData} from '../../src/cli/inspect.js'
import {historyRows, rfc3339} from '../../src/commands/image/history.js'
import {renderPrune} from '../../src/commands/image/prune.js'
import {compileTemplate} from '../../src/cli/template.js'
import {describeImage, historyEntries, repoDigest} from '../../src/engine/image/inspect.js'
import {parseReference} from '../../src/engine/image/reference.js'
import {ImageConfig, ImageRecord} from '../../src/engine/image/types.js'

const ID = `sha256:${'a'.repeat(64)}`
const MANIFEST = `sha256:${'b'.repeat(64)}`
const record: ImageRecord = {
  id: ID,
  manifestDigest: MANIFEST,
  names: ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1', 'localhost:5000/x/y:2', `docker.io/library/busybox@sha256:${'c'.repeat(64)}`],
  layers: [],
  created: '2024-01-01T00:00:00Z',
  size: 4096,
  addedAt: '2024-05-05T05:05:05.000Z',
}
const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: {Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Labels: {}, WorkingDir: ''},
  rootfs: {type: 'layers', diff_ids: [`sha256:${'d'.repeat(64)}`, `sha256:${'e'.repeat(64)}`]},
  history: [
    {created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs /'},
    {created: '2024-01-01T00:00:00Z', created_by: 'ENV A=1', empty_layer: true},
    {created: '2024-01-02T00:00:00Z', created_by: 'RUN\techo a very long command line that goes on and on and on', comment: 'buildkit.dockerfile.v0'},
  ],
}

describe('image inspect (src/engine/image/inspect.ts)', () => {
  const doc = describeImage(record, config)

  it('has Docker\'s fields, in Docker\'s order', () => {
    expect(Object.keys(doc)).to.deep.equal(['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'DockerVersion', 'Author', 'Config', 'Architecture', 'Os', 'Size', 'RootFS', 'Metadata'])
    expect(doc.Id).to.equal(ID)
    expect(doc.Size).to.equal(4096)
    expect(doc.RootFS).to.deep.equal({Type: 'layers', Layers: config.rootfs.diff_ids})
    expect(doc.Metadata.LastTagTime).to.equal(record.addedAt)
    expect(doc.Parent).to.equal('')
  })

  it('lists familiar tags, and one digest per repository', () => {
    expect(doc.RepoTags).to.deep.equal(['busybox:latest', 'busybox:1', 'localhost:5000/x/y:2'])
    expect(doc.RepoDigests).to.deep.equal([`busybox@${MANIFEST}`, `localhost:5000/x/y@${MANIFEST}`, `busybox@sha256:${'c'.repeat(64)}`])
  })

  it('knows repository digests from pulls only: a loaded image has none (Docker: [] and <none>)', () => {
    const loaded = {...record, names: ['docker.io/library/busybox:latest'], repoDigests: []}
    expect(describeImage(loaded, config).RepoDigests).to.deep.equal([])
    expect(repoDigest(loaded, parseReference('busybox:latest'))).to.equal(undefined)
    const pulled = {...record, names: ['docker.io/library/busybox:latest', 'localhost:5000/x/y:2'], repoDigests: [`localhost:5000/x/y@${MANIFEST}`]}
    expect(describeImage(pulled, config).RepoDigests).to.deep.equal([`localhost:5000/x/y@${MANIFEST}`])
    expect(repoDigest(pulled, parseReference('localhost:5000/x/y:2'))).to.equal(MANIFEST)
    expect(repoDigest(pulled, parseReference('busybox:latest'))).to.equal(undefined)
    // A record from before repoDigests: the manifest digest, as it showed then.
    expect(repoDigest(record, parseReference('busybox:latest'))).to.equal(MANIFEST)
  })

  it('leaves empty config fields out, as Docker 28 does', () => {
    expect(doc.Config).to.deep.equal({Env: ['PATH=/bin'], Cmd: ['sh']})
  })

  it('takes the comment from the config, else the last history entry', () => {
    expect(doc.Comment).to.equal('buildkit.dockerfile.v0')
    expect(describeImage(record, {...config, comment: 'imported'} as ImageConfig).Comment).to.equal('imported')
  })

  it('renders templates the way Go renders the struct', () => {
    const render = (f: string) => compileTemplate(f).render(imageTemplateData(doc))
    expect(render('{{.Config.Cmd}}')).to.equal('[sh]')
    expect(render('{{.Config.Entrypoint}}')).to.equal('[]') // nil slice
    expect(render('{{.Config.Labels}}')).to.equal('map[]') // nil map
    expect(render('{{json .Config.Labels}}')).to.equal('null')
    expect(render('{{json .Config.Entrypoint}}')).to.equal('null')
    expect(render('{{json .Config}}')).to.equal('{"Env":["PATH=/bin"],"Cmd":["sh"]}') // omitempty
    expect(render('{{.Config.User}}|{{.Config.WorkingDir}}')).to.equal('|')
    expect(render('{{index .RepoTags 1}} {{.Size}} {{.Os}}/{{.Architecture}}')).to.equal('busybox:1 4096 linux/amd64')
    expect(JSON.parse(render('{{json .}}'))).to.deep.equal(JSON.parse(JSON.stringify(doc)))
  })
})

describe('image history (src/engine/image/inspect.ts, src/commands/image/history.ts)', () => {
  const entries = historyEntries(record, config, [2_128_896, 5120])

  it('has one row per history entry, newest first, the ID on the top row only', () => {
    expect(entries.map((e) => e.id)).to.deep.equal([ID, '<missing>', '<missing>'])
    expect(entries.map((e) => e.size)).to.deep.equal([5120, 0, 2_128_896])
    expect(entries[0].comment).to.equal('buildkit.dockerfile.v0')
  })

  it('shows one row per layer for a config without history', () => {
    const bare = historyEntries(record, {...config, history: undefined}, [10, 20])
    expect(bare.map((e) => [e.id, e.size])).to.deep.equal([[ID, 20], ['<missing>', 10]])
  })

  it('refuses a history naming more layers than the image has', () => {
    expect(() => historyEntries(record, config, [1])).to.throw(/more layers than the image has/)
  })

  it('formats like Docker: 12-char ID, ellipsis at 45, tabs as spaces, human sizes', () => {
    const now = Date.parse('2024-01-02T03:00:00Z')
    const rows = historyRows(entries, {human: true, trunc: true, now})
    expect(rows[0].ID).to.equal('a'.repeat(12))
    expect(rows[0].CreatedBy).to.equal('RUN echo a very long command line that goes …')
    expect([...rows[0].CreatedBy]).to.have.length(45)
    expect(rows[0].CreatedSince).to.equal('3 hours ago')
    expect(rows.map((r) => r.Size)).to.deep.equal(['5.12kB', '0B', '2.13MB'])
    const raw = historyRows(entries, {human: false, trunc: false, now})
    expect(raw[0].ID).to.equal(ID)
    expect(raw[0].CreatedBy).to.equal('RUN echo a very long command line that goes on and on and on')
    expect(raw[2].Size).to.equal('2128896')
    expect(raw[0].CreatedSince).to.equal(raw[0].CreatedAt)
  })

  it('prints RFC 3339 in local time, and no age for unset dates', () => {
    const saved = process.env.TZ
    try {
      process.env.TZ = 'UTC'
      expect(rfc3339(Date.parse('2024-01-01T00:00:00.700Z'))).to.equal('2024-01-01T00:00:00Z')
    } finally {
      process.env.TZ = saved
    }
    const rows = historyRows([{id: '<missing>', createdBy: '', comment: '', size: 0}], {human: true, trunc: true, now: Date.now()})
    expect(rows[0].CreatedSince).to.equal('')
  })
})

describe('image prune output (src/commands/image/prune.ts)', () => {
  it('is Docker\'s report', () => {
    const report = {images: [{untagged: ['busybox:latest'], deleted: ID}], spaceReclaimed: 2_128_896}
    expect(renderPrune(report)).to.equal(`Deleted Images:\nuntagged: busybox:latest\ndeleted: ${ID}\n\nTotal reclaimed space: 2.13MB\n`)
    expect(renderPrune({images: [], spaceReclaimed: 0})).to.equal('Total reclaimed space: 0B\n')
  })
})

describe('{{len}} in templates (src/cli/template.ts)', () => {
  it('counts lists, maps and strings', () => {
    const render = (f: string, data: unknown) => compileTemplate(f).render(data)
    expect(render('{{len .L}} {{len .M}} {{len .S}}', {L: [1, 2, 3], M: {a: 1}, S: 'abcd'})).to.equal('3 1 4')
    expect(() => render('{{len .N}}', {N: 3})).to.throw(/len of 3/)
  })
})

describe('table headers for other commands (compileTemplate in src/cli/template.ts)', () => {
  it('takes per-command header names, falling back to the image list\'s', () => {
    expect(compileTemplate('table {{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}', {ID: 'IMAGE', CreatedBy: 'CREATED BY'}).header).to.equal('IMAGE\tCREATED BY\tSIZE')
    expect(compileTemplate('table {{.ID}}').header).to.equal('IMAGE ID')
  })
})
