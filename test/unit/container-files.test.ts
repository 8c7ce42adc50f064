import {expect} from 'chai'

import {committedConfig} from '../../src/engine/container/commit.js'
import {containerPath, hostPath, parseCpArg} from '../../src/engine/container/cp.js'
import {RawChange, visibleChanges} from '../../src/engine/container/diff.js'

describe('container files: diff, cp, commit', () => {
  describe('visibleChanges', () => {
    const a = (p: string, d = false): RawChange => ({k: 'A', p, d})
    const c = (p: string, d = false): RawChange => ({k: 'C', p, d})

    it('sorts by path and keeps the kinds', () => {
      expect(visibleChanges([a('/tmp/x'), c('/tmp', true), {k: 'D', p: '/etc/group', d: false}, c('/etc', true)])).to.deep.equal([
        {kind: 'C', path: '/etc'},
        {kind: 'D', path: '/etc/group'},
        {kind: 'C', path: '/tmp'},
        {kind: 'A', path: '/tmp/x'},
      ])
    })

    it("leaves out Docker's init-layer mount points and directories changed only by them", () => {
      const raw = [c('/etc', true), a('/etc/hosts'), a('/etc/hostname'), a('/etc/resolv.conf'), a('/proc', true), a('/dev', true), a('/dev/pts', true)]
      expect(visibleChanges(raw)).to.deep.equal([])
      expect(visibleChanges([...raw, a('/etc/added')])).to.deep.equal([
        {kind: 'C', path: '/etc'},
        {kind: 'A', path: '/etc/added'},
      ])
    })

    it('keeps a directory whose own metadata changed', () => {
      expect(visibleChanges([c('/bin', true)])).to.deep.equal([{kind: 'C', path: '/bin'}])
    })
  })

  describe('cp arguments', () => {
    it('splits CONTAINER:PATH as Docker does', () => {
      expect(parseCpArg('web:/etc/hostname')).to.deep.equal({container: 'web', path: '/etc/hostname'})
      expect(parseCpArg('web:etc')).to.deep.equal({container: 'web', path: 'etc'})
      expect(parseCpArg('/abs/with:colon')).to.deep.equal({path: '/abs/with:colon'})
      expect(parseCpArg('./rel:colon')).to.deep.equal({path: './rel:colon'})
      expect(parseCpArg('file')).to.deep.equal({path: 'file'})
      expect(parseCpArg(':x')).to.deep.equal({path: ':x'})
    })

    it('keeps the trailing / and /. of host paths', () => {
      expect(hostPath('.', '/w')).to.equal('/w/.')
      expect(hostPath('dir/.', '/w')).to.equal('/w/dir/.')
      expect(hostPath('dir/', '/w')).to.equal('/w/dir/')
      expect(hostPath('../f', '/w/x')).to.equal('/w/f')
      expect(hostPath('/', '/w')).to.equal('/')
    })

    it('makes container paths absolute', () => {
      expect(containerPath('etc/hosts')).to.equal('/etc/hosts')
      expect(containerPath('/tmp/')).to.equal('/tmp/')
      expect(() => containerPath('')).to.throw(/must not be empty/)
    })
  })

  describe('committedConfig', () => {
    const parent = {Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/', Labels: {a: '1'}}
    const container = {entrypoint: [], cmd: ['httpd', '-f'], env: ['PATH=/bin', 'HOSTNAME=abc', 'HOME=/root', 'X=1'], workdir: '/srv', user: 'nobody', hostname: 'abc'}

    it("takes the container's command, workdir and user, and its -e values, not the runtime's additions", () => {
      const cfg = committedConfig(parent, container, ['X=1'], [])
      expect(cfg).to.deep.include({Env: ['PATH=/bin', 'X=1'], Cmd: ['httpd', '-f'], Entrypoint: null, WorkingDir: '/srv', User: 'nobody'})
      expect(cfg.Labels).to.deep.equal({a: '1'})
    })

    it('applies --change last', () => {
      const cfg = committedConfig(parent, container, [], ['CMD ["true"]', 'ENV Y=2', 'LABEL b=2'])
      expect(cfg.Cmd).to.deep.equal(['true'])
      expect(cfg.Env).to.deep.equal(['PATH=/bin', 'Y=2'])
      expect(cfg.Labels).to.deep.equal({a: '1', b: '2'})
      expect(parent.Cmd).to.deep.equal(['sh']) // the parent is not modified
    })
  })
})
