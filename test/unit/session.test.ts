import {expect} from 'chai'

import {mappingFor, subordinateRange} from '../../src/engine/rootless/session.js'

describe('rootless id mapping (src/engine/rootless/session.ts)', () => {
  describe('subordinateRange', () => {
    const text = ['root:1000000:65536', 'alice:100000:65536', 'bob:165536:65536', '1002:231072:65536', 'alice:300000:1000', ''].join('\n')

    it('finds a range by user name', () => {
      expect(subordinateRange(text, 'bob', 1001)).to.deep.equal({start: 165536, count: 65536})
    })
    it('finds a range by numeric uid', () => {
      expect(subordinateRange(text, 'carol', 1002)).to.deep.equal({start: 231072, count: 65536})
    })
    it('returns the first of several ranges', () => {
      expect(subordinateRange(text, 'alice', 1000)).to.deep.equal({start: 100000, count: 65536})
    })
    it('returns undefined for an unknown user', () => {
      expect(subordinateRange(text, 'mallory', 4242)).to.equal(undefined)
      expect(subordinateRange('', 'alice', 1000)).to.equal(undefined)
    })
    it('does not match a name prefix or a uid prefix', () => {
      expect(subordinateRange('alice2:100000:65536\n10020:1:2\n', 'alice', 1002)).to.equal(undefined)
    })
    it('skips malformed lines and uses the next valid one', () => {
      const messy = ['alice', 'alice:abc:65536', 'alice:100000:', 'alice:100000:0', 'alice:100000:-5', 'alice:1.5:10', '# alice:1:1', '  alice:200000:65536  '].join('\n')
      expect(subordinateRange(messy, 'alice', 1000)).to.deep.equal({start: 200000, count: 65536})
    })
    it('handles CRLF files', () => {
      expect(subordinateRange('alice:100000:65536\r\n', 'alice', 1000)).to.deep.equal({start: 100000, count: 65536})
    })
    // An empty start field is malformed (newuidmap would refuse it), but Number('') is 0,
    // so ncx returns {start: 0, count: 65536}: a range starting at host uid 0.
    it('skips a line with an empty start field', () => {
      expect(subordinateRange('alice::65536\nalice:100000:65536\n', 'alice', 1000)).to.deep.equal({start: 100000, count: 65536})
    })
  })

  describe('mappingFor', () => {
    it('maps root in the container to the user when there is no range', () => {
      expect(mappingFor(1000, undefined)).to.deep.equal([{container: 0, host: 1000, size: 1}])
    })
    it('maps ids from 1 onto the subordinate range', () => {
      expect(mappingFor(1000, {start: 100000, count: 65536})).to.deep.equal([
        {container: 0, host: 1000, size: 1},
        {container: 1, host: 100000, size: 65536},
      ])
    })
  })
})
