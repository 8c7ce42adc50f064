import {expect} from 'chai'

import {ArgCountError} from '../../src/cli/errors.js'
import {checkArgCount} from '../../src/cli/usage.js'
import {parseBytes} from '../../src/engine/cgroup/resources.js'
import {UsageError} from '../../src/engine/errors.js'

// Docker's wordings where a script or a person reads them (docker/cli cli/required.go, go-units).
describe("Docker's argument counts and value messages (src/cli/usage.ts, cgroup/resources.ts)", () => {
  const command = (id: string) => ({id, summary: 'S'})

  it('words each count as the docker/cli helper the command uses', () => {
    expect(checkArgCount(command('container:attach'), 'attach', 0)?.message).to.match(/^"ncx attach" requires exactly 1 argument\.\nSee 'ncx attach --help'\.\n\nUsage:  ncx attach \[OPTIONS\] CONTAINER\n\nS$/)
    // import is RequiresMinArgs(1) in Docker: no upper bound in the message, a third argument ignored.
    expect(checkArgCount(command('import'), 'import', 0)?.message).to.match(/^"ncx import" requires at least 1 argument\./)
    expect(checkArgCount(command('import'), 'import', 3)).to.equal(undefined)
    expect(checkArgCount(command('container:port'), 'port', 3)).to.be.instanceOf(ArgCountError)
  })

  it("words a size that does not parse as go-units' RAMInBytes, under the flag's Docker name", () => {
    expect(parseBytes('1.5g', '-m, --memory')).to.equal(1.5 * 1024 ** 3)
    expect(() => parseBytes('abc', '-m, --memory')).to.throw(UsageError, `invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'`)
  })
})
