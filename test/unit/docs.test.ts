/**
 * The documentation stays navigable: every relative link in README.md and docs/*.md points
 * at a file that exists and, with a `#anchor`, at a heading that exists there (GitHub's
 * anchors); and the README's command table lists exactly the top-level commands and topics
 * of oclif.manifest.json (written by `npm run build:ts`), each with a link to a docs page.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The lines of a Markdown text outside fenced code blocks (``` or ~~~), with their numbers. */
function proseLines(text: string): Array<{line: string; n: number}> {
  const out: Array<{line: string; n: number}> = []
  let fence: string | undefined
  text.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line)
    if (m) {
      if (fence === undefined) fence = m[1][0]
      else if (m[1][0] === fence) fence = undefined
      return
    }
    if (fence === undefined) out.push({line, n: i + 1})
  })
  return out
}

/** GitHub's anchor for a heading's text (github-slugger): lower case, punctuation dropped, spaces → '-'. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links: their text
    .replace(/`([^`]*)`/g, '$1') // code spans: their content
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/\*+/g, '')
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors of a Markdown text's headings, duplicates numbered as GitHub does (`x`, `x-1`, …). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const {line} of proseLines(text)) {
    const m = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const base = slug(m[1])
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    out.add(count === 0 ? base : `${base}-${count}`)
  }
  return out
}

/** The link targets of a Markdown text (inline links and images), outside code blocks and code spans. */
export function links(text: string): Array<{target: string; n: number}> {
  const out: Array<{target: string; n: number}> = []
  for (const {line, n} of proseLines(text)) {
    const prose = line.replace(/(`+)[\s\S]*?\1/g, '') // code spans hold no links
    for (const m of prose.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({target: m[1], n})
  }
  return out
}

/** Broken relative links of the Markdown files `files` (absolute paths), as `file:line: target: why`. */
export function brokenLinks(files: string[], base: string): string[] {
  const anchorCache = new Map<string, Set<string>>()
  const anchorsOf = (file: string) => {
    let a = anchorCache.get(file)
    if (!a) anchorCache.set(file, (a = anchors(readFileSync(file, 'utf8'))))
    return a
  }
  const problems: string[] = []
  for (const file of files) {
    for (const {target, n} of links(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:, …
      const where = `${relative(base, file)}:${n}: ${target}`
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined]
      const dest = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart))
      if (!existsSync(dest)) {
        problems.push(`${where}: no such file`)
        continue
      }
      if (anchor === undefined || anchor === '') continue
      if (!dest.endsWith('.md')) {
        problems.push(`${where}: an anchor into a file that is not Markdown`)
        continue
      }
      if (!anchorsOf(dest).has(decodeURIComponent(anchor).toLowerCase())) problems.push(`${where}: no heading with that anchor in ${relative(base, dest)}`)
    }
  }
  return problems
}

/** The rows of the README's command table (section "## Commands"): the command and the row's links. */
export function commandTable(readme: string): Array<{name: string; links: string[]}> {
  const lines = readme.split('\n')
  const start = lines.findIndex((l) => /^##\s+Commands\s*$/.test(l))
  if (start < 0) return []
  const rows: Array<{name: string; links: string[]}> = []
  for (const line of lines.slice(start + 1)) {
    if (/^##\s/.test(line)) break
    const m = /^\|\s*`ncx ([^`\s]+)`\s*\|/.exec(line)
    if (m) rows.push({name: m[1], links: links(line).map((l) => l.target)})
  }
  return rows
}

interface ManifestCommand {
  hidden?: boolean
  aliases?: string[]
}

/** The top-level commands and topics a user can type: first words of every visible command's id and aliases. */
export function topLevelCommands(manifest: {commands: Record<string, ManifestCommand>}): Set<string> {
  const out = new Set<string>()
  for (const [id, c] of Object.entries(manifest.commands)) {
    if (c.hidden) continue
    for (const name of [id, ...(c.aliases ?? [])]) out.add(name.split(/[: ]/)[0])
  }
  return out
}

function markdownFiles(): string[] {
  const docs = join(repo, 'docs')
  return [join(repo, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => join(docs, f))]
}

describe('documentation', () => {
  describe('the checker itself', () => {
    it('makes GitHub anchors from headings', () => {
      expect(slug('OCI runtimes (`--runtime`)')).to.equal('oci-runtimes---runtime')
      expect(slug('Store consistency (`ncx system check`)')).to.equal('store-consistency-ncx-system-check')
      expect(slug('Following `ncx run -d -p 8080:80 nginx` down to the kernel')).to.equal('following-ncx-run--d--p-808080-nginx-down-to-the-kernel')
      expect(slug('Rootless: prerequisites and troubleshooting')).to.equal('rootless-prerequisites-and-troubleshooting')
      expect([...anchors('# A\n## A\n```\n# not a heading\n```\n### B')]).to.deep.equal(['a', 'a-1', 'b'])
    })

    it('finds links outside code, and only those', () => {
      const text = 'see [x](a.md#b) and `[y](no.md)`\n```\n[z](no.md)\n```\n![img](pic.png "title") [w](https://e.org)'
      expect(links(text).map((l) => l.target)).to.deep.equal(['a.md#b', 'pic.png', 'https://e.org'])
    })

    it('reports a missing file, a missing anchor, and accepts good links', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ncx-docs-'))
      try {
        mkdirSync(join(dir, 'docs'))
        writeFileSync(join(dir, 'docs', 'a.md'), '# A\n\n## Real heading\n')
        writeFileSync(
          join(dir, 'README.md'),
          '# R\n\n[ok](docs/a.md) [ok2](docs/a.md#real-heading) [self](#r) [gone](docs/gone.md) [bad](docs/a.md#no-such-heading) [dir](docs)\n',
        )
        const problems = brokenLinks([join(dir, 'README.md'), join(dir, 'docs', 'a.md')], dir)
        expect(problems).to.deep.equal(['README.md:3: docs/gone.md: no such file', 'README.md:3: docs/a.md#no-such-heading: no heading with that anchor in docs/a.md'])
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })

    it('reads the command table and the manifest', () => {
      const readme = '# x\n## Commands\n| command | what |\n|---|---|\n| `ncx run` | runs [c](docs/cli.md) |\n| `ncx image` | topic |\n## Next\n| `ncx not-this` | |\n'
      expect(commandTable(readme)).to.deep.equal([
        {name: 'run', links: ['docs/cli.md']},
        {name: 'image', links: []},
      ])
      const manifest = {commands: {'container:ls': {aliases: ['ps', 'container:list']}, run: {}, help: {hidden: true}, 'image:build': {aliases: ['build', 'buildx:build']}}}
      expect([...topLevelCommands(manifest)].sort()).to.deep.equal(['build', 'buildx', 'container', 'image', 'ps', 'run'])
    })
  })

  it('has no broken relative link or anchor in README.md and docs/*.md', () => {
    const problems = brokenLinks(markdownFiles(), repo)
    expect(problems, problems.join('\n')).to.deep.equal([])
  })

  it("lists every top-level command and topic in the README's command table, and nothing else", () => {
    const manifestFile = join(repo, 'oclif.manifest.json')
    expect(existsSync(manifestFile), 'oclif.manifest.json is missing: run `npm run build:ts` first').to.equal(true)
    const expected = topLevelCommands(JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands: Record<string, ManifestCommand>})
    const rows = commandTable(readFileSync(join(repo, 'README.md'), 'utf8'))
    const listed = rows.map((r) => r.name)
    expect(expected.size, 'the manifest lists no commands').to.be.greaterThan(10)
    const missing = [...expected].filter((c) => !listed.includes(c)).sort()
    const unknown = listed.filter((c) => !expected.has(c))
    const twice = listed.filter((c, i) => listed.indexOf(c) !== i)
    expect({missing, unknown, twice}, 'README.md "## Commands" table against oclif.manifest.json').to.deep.equal({missing: [], unknown: [], twice: []})
    const unlinked = rows.filter((r) => !r.links.some((l) => l.startsWith('docs/'))).map((r) => r.name)
    expect(unlinked, 'rows without a link to a docs page').to.deep.equal([])
  })
})
