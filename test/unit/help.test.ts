import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {EXAMPLES} from '../../src/cli/examples.js'
import {flagGroup} from '../../src/cli/flag-groups.js'
import {invokedName, renderCommandHelp, renderRoot, rootSections, topicCommands} from '../../src/cli/help.js'

const repo = join(import.meta.dirname, '..', '..')

describe('help', () => {
  const commands = [
    {id: 'run', aliases: ['container:run'], summary: 'Create and run a new container from an image'},
    {id: 'container:ls', aliases: ['ps', 'container:list'], summary: 'List containers'},
    {id: 'container:rm', aliases: ['rm'], summary: 'Remove one or more containers'},
    {id: 'image:ls', aliases: ['images'], summary: 'List images'},
    {id: 'network:create', aliases: [], summary: 'Create a network'},
    {id: 'volume:ls', aliases: [], summary: 'List volumes'},
    {id: 'compose', aliases: [], summary: 'Docker Compose'},
    {id: 'compose:up', aliases: [], summary: 'Create and start containers'},
    {id: 'secret', hidden: true, summary: 'hidden'},
  ]

  it("groups the top level as Docker's help does", () => {
    const s = rootSections(commands, [{name: 'container', description: 'Manage containers'}])
    expect(s.common.map((e) => e.name)).to.deep.equal(['run', 'ps', 'images'])
    expect(s.management).to.deep.equal([
      {name: 'compose', description: 'Define and run multi-container applications'},
      {name: 'container', description: 'Manage containers'},
      {name: 'image', description: 'Manage images'},
      {name: 'network', description: 'Manage networks'},
      {name: 'volume', description: 'Manage volumes'},
    ])
    expect(s.commands).to.deep.equal([{name: 'rm', description: 'Remove one or more containers'}])
    const text = renderRoot('ncx', s, 'A CLI')
    expect(text).to.match(/^Usage: {2}ncx \[OPTIONS\] COMMAND\n\nA CLI\n\nCommon Commands:\n {2}run +Create and run/)
    expect(text).to.contain('Management Commands:\n  compose ').and.contain('Commands:\n  rm ').and.contain('Global Options:')
  })

  it("lays command help out as cobra's usage template (Usage:, Aliases:, Options:)", () => {
    const text = renderCommandHelp({
      path: 'ncx ps',
      use: '[OPTIONS]',
      summary: 'List containers',
      names: ['ncx container ls', 'ncx ps'],
      flags: [
        {name: 'root', type: 'option', helpGroup: 'GLOBAL', description: 'Directory'},
        {name: 'format', type: 'option', description: 'Format output'},
        {name: 'all', char: 'a', type: 'boolean', description: 'Show all containers'},
        {name: 'filter', char: 'f', type: 'option', multiple: true, description: 'Filter output'},
        {name: 'last', char: 'n', type: 'option', default: -1, description: 'Show n last created containers'},
        {name: 'secret', type: 'boolean', hidden: true},
        {name: 'publish', char: 'p', type: 'option', multiple: true, helpGroup: 'NETWORK', description: 'Publish a port'},
      ],
      examples: ['ncx ps -a'],
    })
    expect(text).to.equal(
      [
        'Usage:  ncx ps [OPTIONS]',
        '',
        'List containers',
        '',
        'Aliases:',
        '  ncx container ls, ncx ps',
        '',
        'Options:',
        '  -a, --all             Show all containers',
        '  -f, --filter list     Filter output',
        '      --format string   Format output',
        '  -n, --last string     Show n last created containers (default -1)',
        '',
        'Network Options:',
        '  -p, --publish list   Publish a port',
        '',
        'Examples:',
        '  ncx ps -a',
      ].join('\n'),
    )
  })

  it('names a command as it was typed, and lists a topic by the names within it', () => {
    expect(invokedName(['ps', '--help'], ['container:ls', 'ps', 'container:ps'], 'container:ls')).to.equal('ps')
    expect(invokedName(['help', 'container', 'ps'], ['container:ls', 'ps', 'container:ps'], 'container:ls')).to.equal('container:ps')
    expect(invokedName(['--help'], ['run'], 'run')).to.equal('run')
    const listed = topicCommands('container', [...commands, {id: 'container:list', aliases: ['container:list'], summary: 'alias entry'}])
    expect(listed.map((e) => e.name)).to.deep.equal(['ls', 'rm', 'run'])
  })

  it('groups run flags', () => {
    expect(flagGroup('publish')).to.equal('NETWORK')
    expect(flagGroup('health-cmd')).to.equal('HEALTH')
    expect(flagGroup('memory')).to.equal('RESOURCES')
    expect(flagGroup('frobnicate')).to.equal(undefined)
  })

  it('every visible command has a summary and examples (run `npm run build` first for the manifest)', function () {
    const file = join(repo, 'oclif.manifest.json')
    if (!existsSync(file)) throw new Error('oclif.manifest.json is missing: run npm run build:ts')
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as {commands: Record<string, {hidden?: boolean; summary?: string; description?: string; examples?: string[]}>}
    const missing: string[] = []
    for (const [id, c] of Object.entries(manifest.commands)) {
      if (c.hidden) continue
      if (!(c.summary || c.description)) missing.push(`${id}: no summary`)
      if (!(c.examples?.length || EXAMPLES[id]?.length)) missing.push(`${id}: no examples`)
    }
    expect(missing).to.deep.equal([])
  })
})
