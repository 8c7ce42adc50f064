/**
 * The parity table: everyday command lines with Docker's behaviour for each (see table.ts
 * for the fields). Every case is also run against a real Docker Engine where one can run
 * (parity.test.ts, the reference run: dockerd 20.10 with the Debian docker 20.10 client and,
 * where installed, a docker 28 client), so the expectations are checked, not assumed.
 * Where the two Docker clients word a message differently, the pattern accepts both.
 *
 * The fixtures (FIXTURES) exist for every case; a case that changes them restores them or
 * uses objects of its own (named after the case), created in `setup` and removed in `cleanup`.
 */
import {Case, EMPTY, jsonHas, jsonLinesWithKeys} from './table.js'

/** Made once, before the first case. */
export const FIXTURES = `set -e
ncx load -i "$IMG/busybox.docker.tar" >/dev/null
ncx run -d --name fx-run --label fx=1 busybox sleep 100000 >/dev/null
ncx create --name fx-created busybox echo created >/dev/null
ncx run --name fx-exited busybox sh -c 'echo out; echo err >&2; exit 3' >/dev/null 2>&1 || test $? = 3
ncx volume create --label fx=1 fx-vol >/dev/null
ncx network create --label fx=1 fx-net >/dev/null
ncx tag busybox fx-img:v1
`

// ----------------------------------------------------------------------------------------
// Where the expectations come from

const SRC = {
  required: 'docker/cli cli/required.go (argument counts: exit 1)',
  flags: 'docker/cli cli/cobra.go FlagErrorFunc (flag errors: exit 125)',
  root: 'docker/cli cmd/docker/docker.go',
  run: 'docker/cli cli/command/container/run.go (run/create: 125, 126, 127)',
  opts: 'docker/cli cli/command/container/opts.go',
  ps: 'docker/cli cli/command/formatter/container.go',
  images: 'docker/cli cli/command/formatter/image.go',
  volumes: 'docker/cli cli/command/formatter/volume.go',
  networks: 'docker/cli cli/command/formatter/network.go',
  inspect: 'docker/cli cli/command/system/inspect.go',
  docs: (cmd: string) => `Docker docs: docker ${cmd} reference`,
  engine: 'moby daemon (dockerd 20.10, measured by the reference run)',
}

// ----------------------------------------------------------------------------------------
// Message patterns shared by the cases (both Docker clients' wordings)

const ID12 = '[0-9a-f]{12}'
const ID64 = '[0-9a-f]{64}'
const DATE = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4} [A-Z]{3,4}'

/** `"docker rm" requires at least 1 argument.` (20.10) / `'docker rm' requires at least 1 argument` (28). */
function requires(command: string, what: string): RegExp {
  const exact = /^exactly (\d+)/.exec(what)
  const count = exact ? `(exactly )?${exact[1]}` : what
  return new RegExp(`["'](docker|ncx) ${command}["'] requires ${count} arguments?[\\s\\S]*Usage:\\s+(docker|ncx) ${command.replace(/[[\]]/g, '\\$&')}`)
}

function acceptsNone(command: string): RegExp {
  return new RegExp(`["'](docker|ncx) ${command}["'] accepts no arguments`)
}

/** The flag error and the pointer to the command's help. */
function unknownFlag(flag: string, command: string): RegExp {
  return new RegExp(`unknown (shorthand )?flag: ${flag.replace(/[-[\]]/g, '\\$&')}[\\s\\S]*(See|Run) '(docker|ncx) ${command} --help'`)
}

const noSuchContainer = (name: string) => new RegExp(`No such container: ${name}`)
const noSuchImage = (name: string) => new RegExp(`No such image: ${name}`)
const noSuchVolume = (name: string) => new RegExp(`(No such volume: ${name}|get ${name}: no such volume)`, 'i')
const noSuchNetwork = (name: string) => new RegExp(`(No such network: ${name}|network ${name} not found)`)

/** Lines, each matching `re`, exactly `n` of them. */
function lines(n: number, re: RegExp): (text: string) => string | undefined {
  return (text) => {
    const got = text.split('\n').filter(Boolean)
    if (got.length !== n) return `expected ${n} line(s), got ${got.length}: ${JSON.stringify(text.slice(0, 300))}`
    const bad = got.find((l) => !re.test(l))
    return bad === undefined ? undefined : `line ${JSON.stringify(bad)} does not match ${re}`
  }
}

// ----------------------------------------------------------------------------------------

type Spec = Omit<Case, 'area'>

function area(name: string, specs: Spec[]): Case[] {
  return specs.map((s) => ({area: name, ...s}))
}

const cli = area('cli', [
  {title: "an unknown command: 'X' is not a command, exit 1", sh: 'ncx rnu', exit: 1, stderr: /'rnu' is not a (docker|ncx) command|unknown command: (docker|ncx) rnu/, stdout: EMPTY, source: SRC.root},
  {title: 'an unknown command with arguments', sh: 'ncx imagez ls', exit: 1, stderr: /'imagez' is not a (docker|ncx) command|unknown command: (docker|ncx) imagez/, source: SRC.root},
  {title: 'an unknown global flag: exit 125', sh: 'ncx --bogus ps', exit: 125, stderr: /unknown flag: --bogus[\s\S]*(See|Run) '(docker|ncx) --help'/, source: SRC.flags},
  {title: 'help COMMAND prints the command usage', sh: 'ncx help run', exit: 0, stdout: /Usage:\s+(docker|ncx) run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/, source: 'docker/cli cli/cobra.go helpCommand'},
  {title: 'help of a management command', sh: 'ncx help network', exit: 0, stdout: /Usage:\s+(docker|ncx) network/, source: 'docker/cli cli/cobra.go helpCommand'},
  {title: 'help of an unknown topic: exit 1', sh: 'ncx help bogus', exit: 1, stderr: /unknown help topic: bogus/, source: 'docker/cli cli/cobra.go helpCommand'},
  {title: 'COMMAND --help: exit 0, usage on stdout', sh: 'ncx ps --help', exit: 0, stdout: /Usage:\s+(docker|ncx) ps \[OPTIONS\]/, source: SRC.docs('ps')},
  {title: '--version: exit 0', sh: 'ncx --version', exit: 0, stdout: /\S/, source: SRC.root},
  {title: 'version --format with a server field', sh: "ncx version --format '{{.Server.Os}}'", exit: 0, stdout: 'linux\n', source: SRC.docs('version')},
  {title: 'version --format with an unknown field: exit 1', sh: "ncx version --format '{{.Bogus}}'", exit: 1, stderr: /Bogus/, source: SRC.docs('version')},
  {title: 'an unknown shorthand flag: exit 125', sh: 'ncx ps -z', exit: 125, stderr: /unknown shorthand flag: 'z' in -z/, source: SRC.flags},
  {title: 'one wording for unknown flags (ps)', sh: 'ncx ps --bogus', exit: 125, stderr: unknownFlag('--bogus', 'ps'), source: SRC.flags},
  {title: 'one wording for unknown flags (images)', sh: 'ncx images --bogus', exit: 125, stderr: unknownFlag('--bogus', 'images'), source: SRC.flags},
  {title: 'one wording for unknown flags (rm)', sh: 'ncx rm --bogus x', exit: 125, stderr: unknownFlag('--bogus', 'rm'), source: SRC.flags},
  {title: 'one wording for unknown flags (logs)', sh: 'ncx logs --bogus fx-exited', exit: 125, stderr: unknownFlag('--bogus', 'logs'), source: SRC.flags},
  {title: 'one wording for unknown flags (inspect)', sh: 'ncx inspect --bogus fx-run', exit: 125, stderr: unknownFlag('--bogus', 'inspect'), source: SRC.flags},
  {title: 'one wording for unknown flags (network ls)', sh: 'ncx network ls --bogus', exit: 125, stderr: unknownFlag('--bogus', 'network ls'), source: SRC.flags},
  {title: 'one wording for unknown flags (volume ls)', sh: 'ncx volume ls --bogus', exit: 125, stderr: unknownFlag('--bogus', 'volume ls'), source: SRC.flags},
  {title: 'one wording for unknown flags (run)', sh: 'ncx run --rmm busybox true', exit: 125, stderr: unknownFlag('--rmm', 'run'), source: SRC.flags},
  {title: 'one wording for unknown flags (exec)', sh: 'ncx exec --bogus fx-run true', exit: 125, stderr: unknownFlag('--bogus', 'exec'), source: SRC.flags},
  {title: 'one wording for unknown flags (create)', sh: 'ncx create --bogus busybox', exit: 125, stderr: unknownFlag('--bogus', 'create'), source: SRC.flags},
  {title: 'a flag value that does not parse: exit 125', sh: 'ncx ps -n abc', exit: 125, stderr: /invalid argument "abc" for "-n, --last" flag/, source: SRC.flags},
  {title: 'a flag without its value: exit 125', sh: 'ncx ps --filter', exit: 125, stderr: /flag needs an argument: --filter/, source: SRC.flags},
  {title: 'container ls is ps', sh: 'ncx container ls --filter name=fx-run --format "{{.Names}}"', exit: 0, stdout: 'fx-run\n', source: SRC.docs('container ls')},
  {title: 'container list and container ps are ps', sh: 'ncx container list -q --filter name=fx-run | wc -l; ncx container ps -q --filter name=fx-run | wc -l', exit: 0, stdout: '1\n1\n', source: SRC.docs('container ls')},
  {title: 'image ls is images', sh: 'ncx image ls --format "{{.Repository}}" busybox', exit: 0, stdout: 'busybox\n', source: SRC.docs('image ls')},
])

const args = area('arguments', [
  {title: 'rm without a container: exit 1 with the usage', sh: 'ncx rm', exit: 1, stderr: requires('rm', 'at least 1'), source: SRC.required},
  {title: 'rmi without an image', sh: 'ncx rmi', exit: 1, stderr: requires('rmi', 'at least 1'), source: SRC.required},
  {title: 'logs without a container', sh: 'ncx logs', exit: 1, stderr: requires('logs', 'exactly 1'), source: SRC.required},
  {title: 'logs with two containers', sh: 'ncx logs fx-run fx-exited', exit: 1, stderr: requires('logs', 'exactly 1'), source: SRC.required},
  {title: 'run without an image', sh: 'ncx run', exit: 1, stderr: requires('run', 'at least 1'), source: SRC.required},
  {title: 'create without an image', sh: 'ncx create', exit: 1, stderr: requires('create', 'at least 1'), source: SRC.required},
  {title: 'exec with a container only', sh: 'ncx exec fx-run', exit: 1, stderr: requires('exec', 'at least 2'), source: SRC.required},
  {title: 'tag with one argument', sh: 'ncx tag busybox', exit: 1, stderr: requires('tag', 'exactly 2'), source: SRC.required},
  {title: 'cp with one argument', sh: 'ncx cp fx-run:/etc/hostname', exit: 1, stderr: requires('cp', 'exactly 2'), source: SRC.required},
  {title: 'start without a container', sh: 'ncx start', exit: 1, stderr: requires('start', 'at least 1'), source: SRC.required},
  {title: 'stop without a container', sh: 'ncx stop', exit: 1, stderr: requires('stop', 'at least 1'), source: SRC.required},
  {title: 'kill without a container', sh: 'ncx kill', exit: 1, stderr: requires('kill', 'at least 1'), source: SRC.required},
  {title: 'restart without a container', sh: 'ncx restart', exit: 1, stderr: requires('restart', 'at least 1'), source: SRC.required},
  {title: 'wait without a container', sh: 'ncx wait', exit: 1, stderr: requires('wait', 'at least 1'), source: SRC.required},
  {title: 'inspect without an object', sh: 'ncx inspect', exit: 1, stderr: requires('inspect', 'at least 1'), source: SRC.required},
  {title: 'top without a container', sh: 'ncx top', exit: 1, stderr: requires('top', 'at least 1'), source: SRC.required},
  {title: 'port without a container', sh: 'ncx port', exit: 1, stderr: requires('port', 'at least 1 and at most 2'), source: SRC.required},
  {title: 'rename with one argument', sh: 'ncx rename fx-exited', exit: 1, stderr: requires('rename', 'exactly 2'), source: SRC.required},
  {title: 'pause without a container', sh: 'ncx pause', exit: 1, stderr: requires('pause', 'at least 1'), source: SRC.required},
  {title: 'history without an image', sh: 'ncx history', exit: 1, stderr: requires('history', 'exactly 1'), source: SRC.required},
  {title: 'pull without a name', sh: 'ncx pull', exit: 1, stderr: requires('pull', 'exactly 1'), source: SRC.required},
  {title: 'export without a container', sh: 'ncx export', exit: 1, stderr: requires('export', 'exactly 1'), source: SRC.required},
  {title: 'diff without a container', sh: 'ncx diff', exit: 1, stderr: requires('diff', 'exactly 1'), source: SRC.required},
  {title: 'attach without a container', sh: 'ncx attach', exit: 1, stderr: requires('attach', 'exactly 1'), source: SRC.required},
  {title: 'commit without a container', sh: 'ncx commit', exit: 1, stderr: requires('commit', 'at least 1 and at most 2'), source: SRC.required},
  {title: 'import without a file', sh: 'ncx import', exit: 1, stderr: requires('import', 'at least 1'), source: SRC.required},
  {title: 'save without an image', sh: 'ncx save -o x.tar', exit: 1, stderr: requires('save', 'at least 1'), source: SRC.required},
  {title: 'volume rm without a volume', sh: 'ncx volume rm', exit: 1, stderr: requires('volume rm', 'at least 1'), source: SRC.required},
  {title: 'volume inspect without a volume', sh: 'ncx volume inspect', exit: 1, stderr: requires('volume inspect', 'at least 1'), source: SRC.required},
  {title: 'network rm without a network', sh: 'ncx network rm', exit: 1, stderr: requires('network rm', 'at least 1'), source: SRC.required},
  {title: 'network create without a name', sh: 'ncx network create', exit: 1, stderr: requires('network create', 'exactly 1'), source: SRC.required},
  {title: 'network connect with a network only', sh: 'ncx network connect fx-net', exit: 1, stderr: requires('network connect', 'exactly 2'), source: SRC.required},
  {title: 'ps takes no arguments', sh: 'ncx ps x', exit: 1, stderr: acceptsNone('ps'), source: SRC.required},
  {title: 'info takes no arguments', sh: 'ncx info x', exit: 1, stderr: acceptsNone('info'), source: SRC.required},
  {title: 'version takes no arguments', sh: 'ncx version x', exit: 1, stderr: acceptsNone('version'), source: SRC.required},
  {title: 'network ls takes no arguments', sh: 'ncx network ls x', exit: 1, stderr: acceptsNone('network ls'), source: SRC.required},
  {title: 'volume ls takes no arguments', sh: 'ncx volume ls x', exit: 1, stderr: acceptsNone('volume ls'), source: SRC.required},
  {title: 'images takes at most one reference', sh: 'ncx images a b', exit: 1, stderr: requires('images', 'at most 1'), source: SRC.required},
  {title: 'events takes no arguments', sh: 'ncx events x', exit: 1, stderr: acceptsNone('events'), source: SRC.required},
])

const run = area('run', [
  {title: 'prints the command output', sh: 'ncx run --rm busybox echo hello', exit: 0, stdout: 'hello\n', stderr: EMPTY, source: SRC.docs('run')},
  {title: "exits with the container's code", sh: "ncx run --rm busybox sh -c 'exit 3'", exit: 3, stdout: EMPTY, source: SRC.docs('run') + ' (exit status)'},
  {title: 'a command that is not found: 127', sh: 'ncx run --rm busybox nosuchcmd', exit: 127, stderr: /executable file not found/, source: SRC.run},
  {title: 'a command that cannot be invoked: 126', sh: 'ncx run --rm busybox /etc/passwd', exit: 126, stderr: /permission denied/, source: SRC.run},
  {title: 'PID 1 ignores a signal it has no handler for (kill -9 $$)', sh: "ncx run --rm busybox sh -c 'kill -9 $$; echo alive'", exit: 0, stdout: 'alive\n', source: 'pid_namespaces(7): the init of a PID namespace gets only signals it handles'},
  {title: 'a process killed by SIGKILL: 137', sh: "ncx run --rm busybox sh -c 'sh -c \"kill -9 \\$\\$\"; exit $?'", exit: 137, source: SRC.docs('run') + ' (exit status)'},
  {title: 'stdout and stderr stay apart', sh: "ncx run --rm busybox sh -c 'echo out; echo err >&2'", exit: 0, stdout: 'out\n', stderr: 'err\n', source: SRC.docs('run')},
  {title: 'stdin is not attached without -i', sh: 'echo hi | ncx run --rm busybox cat', exit: 0, stdout: EMPTY, source: SRC.docs('run') + ' (-i)'},
  {title: '-i attaches stdin', sh: 'echo hi | ncx run --rm -i busybox cat', exit: 0, stdout: 'hi\n', source: SRC.docs('run') + ' (-i)'},
  {title: '-t makes a terminal: CRLF line ends', sh: 'ncx run --rm -t busybox echo hi', exit: 0, stdout: 'hi\r\n', source: SRC.docs('run') + ' (-t)'},
  {title: '-it without a terminal: exit 1', sh: 'ncx run --rm -it busybox true </dev/null', exit: 1, stderr: /the input device is not a TTY/, source: 'docker/cli cli/command/container/run.go (CheckTtyInput)'},
  {title: '-a stdout connects only stdout', sh: "ncx run --rm -a stdout busybox sh -c 'echo o; echo e >&2'", exit: 0, stdout: 'o\n', stderr: EMPTY, source: SRC.docs('run') + ' (-a)'},
  {title: '-d prints the full ID', sh: 'ncx run -d --name rund busybox true', cleanup: 'ncx rm -f rund', exit: 0, stdout: new RegExp(`^${ID64}\n$`), source: SRC.docs('run') + ' (-d)'},
  {title: '--rm removes the container afterwards', sh: 'ncx run --rm --name runrm busybox true; ncx ps -aq --filter name=runrm', exit: 0, stdout: EMPTY, source: SRC.docs('run') + ' (--rm)'},
  {title: 'the default hostname is the short ID', sh: 'ncx run --rm busybox hostname', exit: 0, stdout: new RegExp(`^${ID12}\n$`), source: SRC.docs('run')},
  {title: '--hostname', sh: 'ncx run --rm --hostname web busybox hostname', exit: 0, stdout: 'web\n', source: SRC.docs('run')},
  {title: '-e sets a variable', sh: "ncx run --rm -e A=1 busybox sh -c 'echo $A'", exit: 0, stdout: '1\n', source: SRC.docs('run') + ' (-e)'},
  {title: 'the environment: PATH, HOSTNAME, HOME', sh: 'ncx run --rm busybox env | sort', exit: 0, stdout: new RegExp(`^HOME=/root\nHOSTNAME=${ID12}\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n$`), source: SRC.docs('run') + ' (environment)'},
  {title: '-w creates the working directory', sh: 'ncx run --rm -w /new/dir busybox pwd', exit: 0, stdout: '/new/dir\n', source: SRC.docs('run') + ' (-w)'},
  {title: '-w with a relative path: 125', sh: 'ncx run --rm -w rel busybox true', exit: 125, stderr: /the working directory 'rel' is invalid, it needs to be an absolute path/, source: SRC.opts},
  {title: '-u with a uid', sh: 'ncx run --rm -u 1000 busybox id -u', exit: 0, stdout: '1000\n', source: SRC.docs('run') + ' (-u)'},
  {title: '-u with an unknown user: 125', sh: 'ncx run --rm -u nosuch busybox true', exit: 125, stderr: /unable to find user nosuch: no matching entries in passwd file/, source: SRC.run},
  {title: '--entrypoint', sh: 'ncx run --rm --entrypoint echo busybox a b', exit: 0, stdout: 'a b\n', source: SRC.docs('run') + ' (--entrypoint)'},
  {title: '--read-only', sh: 'ncx run --rm --read-only busybox touch /x', exit: 1, stderr: /Read-only file system/, source: SRC.docs('run') + ' (--read-only)'},
  {title: 'a missing image with --pull never: 125', sh: 'ncx run --rm --pull never nosuchimage:v1 true', exit: 125, stderr: /No such image: nosuchimage:v1|Unable to find image 'nosuchimage:v1' locally/, source: SRC.run},
  {title: 'a bad --pull value: 125', sh: 'ncx run --rm --pull bogus busybox true', exit: 125, stderr: /invalid pull option: 'bogus'/, source: SRC.opts, referenceSkip: 'the docker 20.10 client ignores a bad --pull value'},
  {title: 'a missing network: 125', sh: 'ncx run --rm --network nosuchnet busybox true', exit: 125, stderr: /network nosuchnet not found/, source: SRC.run},
  {title: 'a missing --env-file: 125', sh: 'ncx run --rm --env-file /nofile busybox true', exit: 125, stderr: /open \/nofile: no such file or directory/, source: SRC.opts},
  {title: 'a name in use: 125, Conflict', sh: 'ncx run --name fx-run busybox true', exit: 125, stderr: /Conflict\. The container name "\/fx-run" is already in use by container/, source: SRC.run},
  {title: 'an invalid name: 125', sh: "ncx run --rm --name 'a b' busybox true", exit: 125, stderr: /Invalid container name \(a b\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/, source: 'moby daemon/names.go (validContainerNamePattern)'},
  {title: 'a one-character name is invalid too', sh: 'ncx run --rm --name X busybox true', exit: 125, stderr: /Invalid container name \(X\)/, source: 'moby daemon/names.go (validContainerNamePattern needs 2 characters)'},
  {title: '--name /x is the name x', sh: 'ncx run --name /runslash busybox true && ncx ps -a --filter name=runslash --format "{{.Names}}"', cleanup: 'ncx rm -f runslash', exit: 0, stdout: 'runslash\n', source: 'moby daemon/names.go (a leading slash is stripped)'},
  {title: '--rm with --restart: 125', sh: 'ncx run --rm --restart always busybox true', exit: 125, stderr: /[Cc]onflicting options: (--restart and --rm|cannot specify both --restart and --rm)/, source: SRC.opts},
  {title: 'a bad --restart policy: 125', sh: 'ncx run -d --restart bogus busybox true', exit: 125, stderr: /invalid restart policy/, source: SRC.opts},
  {title: '--stop-timeout that does not parse: 125', sh: 'ncx run --rm --stop-timeout abc busybox true', exit: 125, stderr: /invalid argument "abc" for "--stop-timeout" flag: strconv.ParseInt: parsing "abc": invalid syntax/, source: SRC.flags},
  {title: '--memory that does not parse: 125', sh: 'ncx run --rm --memory=abc busybox true', exit: 125, stderr: /invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'/, source: SRC.flags},
  {title: '--log-opt max-size with a fraction', sh: 'ncx run --rm --log-opt max-size=1.5m busybox echo ok', exit: 0, stdout: 'ok\n', source: 'moby daemon/logger/jsonfilelog (units.FromHumanSize)'},
  {title: '--detach-keys= (empty) is accepted', sh: 'ncx run --rm --detach-keys= busybox echo ok', exit: 0, stdout: 'ok\n', source: 'docker/cli cli/command/container/run.go (empty: no detaching)'},
  {title: '-p [::]:PORT:PORT is accepted', sh: "ncx run --rm -p '[::]:18931:80' busybox echo ok", exit: 0, stdout: 'ok\n', source: SRC.opts + ' (nat.ParsePortSpec)'},
  {title: '-p [::]:PORT: port and ps show the IPv6 address in brackets', sh: "ncx run -d --name port6 -p '[::]:18933:80' busybox sleep 100 >/dev/null && ncx port port6 && ncx ps --format '{{.Ports}}' -f name=port6", cleanup: 'ncx rm -f port6', exit: 0, stdout: /^80\/tcp -> (\[::\]|::):18933\n(\[::\]|::):18933->80\/tcp\n$/, source: 'docker/cli cli/command/container/port.go, formatter/container.go (20.10 prints :::PORT, 28 [::]:PORT)'},
  {title: '-p with --network host: warned about, then run', sh: 'ncx run --rm -p 18932:80 --network host busybox echo ok', exit: 0, stdout: 'ok\n', stderr: /WARNING: Published ports are discarded when using host network mode/, source: SRC.run},
  {title: '-p with a bad port: 125', sh: 'ncx run --rm -p 99999:80 busybox true', exit: 125, stderr: /[Ii]nvalid (hostPort|port)/, source: SRC.opts},
  {title: 'the image CMD runs when no command is given', sh: 'ncx run --rm busybox', exit: 0, stdout: EMPTY, source: SRC.docs('run')},
  {title: '--cidfile writes the ID', sh: 'ncx run -d --name runcid --cidfile cid.txt busybox true >/dev/null && wc -c < cid.txt', cleanup: 'ncx rm -f runcid; rm -f cid.txt', exit: 0, stdout: '64\n', source: SRC.docs('run') + ' (--cidfile)'},
  {title: '--cidfile that exists: 125', sh: 'echo x > cid2.txt; ncx run --rm --cidfile cid2.txt busybox true', cleanup: 'rm -f cid2.txt', exit: 125, stderr: /[Cc]ontainer ID file found, make sure the other container isn't running or delete cid2.txt/, source: 'docker/cli cli/command/container/create.go (newCIDFile)'},
  {title: '--log-driver none: logs are refused', sh: 'ncx run --name runlognone --log-driver none busybox echo hi >/dev/null; ncx logs runlognone', cleanup: 'ncx rm -f runlognone', exit: 1, stderr: /configured logging driver does not support reading/, source: SRC.engine},
  {title: 'create prints the ID, the container is Created', sh: 'ncx create --name runcreate busybox true >/dev/null && ncx ps -a --filter name=runcreate --format "{{.Status}}"', cleanup: 'ncx rm -f runcreate', exit: 0, stdout: 'Created\n', source: SRC.docs('create')},
  {title: 'create then start -a runs it attached', sh: 'ncx create --name runstarta busybox echo attached >/dev/null && ncx start -a runstarta', cleanup: 'ncx rm -f runstarta', exit: 0, stdout: 'attached\n', source: SRC.docs('start')},
  {title: 'start -a returns the exit code', sh: "ncx create --name runstartc busybox sh -c 'exit 4' >/dev/null && ncx start -a runstartc", cleanup: 'ncx rm -f runstartc', exit: 4, source: SRC.docs('start')},
  {title: '--label shows in inspect', sh: "ncx run --name runlabel --label a=b busybox true && ncx inspect -f '{{.Config.Labels.a}}' runlabel", cleanup: 'ncx rm -f runlabel', exit: 0, stdout: 'b\n', source: SRC.docs('run') + ' (--label)'},
])

const logs = area('logs', [
  {title: 'an attached run is logged (stdout and stderr apart)', sh: 'ncx logs fx-exited', exit: 0, stdout: 'out\n', stderr: 'err\n', source: SRC.docs('logs')},
  {title: 'logs of an attached run show the lines the terminal saw', sh: "ncx run --name logsfg busybox sh -c 'echo one; echo two' >/dev/null && ncx logs logsfg", cleanup: 'ncx rm -f logsfg', exit: 0, stdout: 'one\ntwo\n', source: SRC.docs('logs')},
  {title: 'every run is logged: after restart both runs', sh: 'ncx run --name logsre busybox echo run >/dev/null && ncx restart logsre >/dev/null && ncx wait logsre >/dev/null && ncx logs logsre', cleanup: 'ncx rm -f logsre', exit: 0, stdout: 'run\nrun\n', source: SRC.docs('logs')},
  {title: 'logs of a start -a run', sh: 'ncx create --name logsst busybox echo started >/dev/null && ncx start -a logsst >/dev/null && ncx logs logsst', cleanup: 'ncx rm -f logsst', exit: 0, stdout: 'started\n', source: SRC.docs('logs')},
  {title: 'logs of a detached run', sh: 'ncx run -d --name logsd busybox echo detached >/dev/null && ncx wait logsd >/dev/null && ncx logs logsd', cleanup: 'ncx rm -f logsd', exit: 0, stdout: 'detached\n', source: SRC.docs('logs')},
  {title: '--tail 1: the last entry of either stream', sh: 'ncx logs --tail 1 fx-exited 2>&1', exit: 0, stdout: /^(out|err)\n$/, source: SRC.docs('logs') + ' (either stream may be last: the fixture writes both at once, and the logger reads two pipes)'},
  {title: '-n 0 prints nothing', sh: 'ncx logs -n 0 fx-exited', exit: 0, stdout: EMPTY, stderr: EMPTY, source: SRC.docs('logs')},
  {title: '-t prefixes RFC 3339 nano timestamps', sh: 'ncx logs -t fx-exited 2>/dev/null', exit: 0, stdout: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$/, source: SRC.docs('logs')},
  {title: '--since with a bad value: exit 1', sh: 'ncx logs --since bogus fx-exited', exit: 1, stderr: /failed to parse value as time or duration: "bogus"/, source: 'docker/cli cli/command/container/logs.go (timetypes)'},
  {title: 'a missing container: exit 1', sh: 'ncx logs nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'a created container has no logs', sh: 'ncx logs fx-created', exit: 0, stdout: EMPTY, stderr: EMPTY, source: SRC.docs('logs')},
  {title: '-f on a stopped container returns', sh: 'ncx logs -f fx-exited 2>/dev/null', exit: 0, stdout: 'out\n', timeout: 30_000, source: SRC.docs('logs')},
  {title: '--until 0s ... a timestamp in the future keeps all', sh: 'ncx logs --until 2100-01-01T00:00:00Z fx-exited 2>/dev/null', exit: 0, stdout: 'out\n', source: SRC.docs('logs')},
])

const ps = area('ps', [
  {title: 'the default columns', sh: 'ncx ps --filter name=fx-run', exit: 0, stdout: new RegExp(`^CONTAINER ID   IMAGE     COMMAND          CREATED\\s+STATUS\\s+PORTS     NAMES\n${ID12}   busybox   "sleep 100000"   .+ ago\\s+Up .+\\s+fx-run\n$`), source: SRC.ps},
  {title: '-q prints short IDs', sh: 'ncx ps -q --filter name=fx-run', exit: 0, stdout: new RegExp(`^${ID12}\n$`), source: SRC.docs('ps')},
  {title: '-q --no-trunc prints full IDs', sh: 'ncx ps -q --no-trunc --filter name=fx-run', exit: 0, stdout: new RegExp(`^${ID64}\n$`), source: SRC.docs('ps')},
  {title: 'without -a only running containers', sh: 'ncx ps --filter name=fx-exited --format "{{.Names}}"', exit: 0, stdout: EMPTY, source: SRC.docs('ps')},
  {title: '-a with status=exited', sh: 'ncx ps -a --filter status=exited --filter name=fx-exited --format "{{.Names}} {{.State}}"', exit: 0, stdout: 'fx-exited exited\n', source: SRC.docs('ps')},
  {title: '-a with status=created', sh: 'ncx ps -a --filter status=created --filter name=fx-created --format "{{.Status}}"', exit: 0, stdout: 'Created\n', source: SRC.docs('ps')},
  {title: 'the status text of an exited container', sh: 'ncx ps -a --filter name=fx-exited --format "{{.Status}}"', exit: 0, stdout: /^Exited \(3\) (Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago\n$/, source: SRC.ps},
  {title: 'exited=3 filter', sh: 'ncx ps -a --filter exited=3 --format "{{.Names}}"', exit: 0, stdout: 'fx-exited\n', source: SRC.docs('ps')},
  {title: 'label filter', sh: 'ncx ps -a --filter label=fx=1 --format "{{.Names}}"', exit: 0, stdout: 'fx-run\n', source: SRC.docs('ps')},
  {title: 'ancestor filter', sh: 'ncx ps --filter ancestor=busybox --filter name=fx-run --format "{{.Names}}"', exit: 0, stdout: 'fx-run\n', source: SRC.docs('ps')},
  {title: 'an unknown filter: exit 1', sh: 'ncx ps --filter bogus=1', exit: 1, stderr: /Invalid filter 'bogus'/, source: SRC.engine},
  {title: 'a bad status value: exit 1', sh: 'ncx ps -a --filter status=bogus', exit: 1, stderr: /Invalid filter 'status=bogus'/, source: SRC.engine},
  {title: 'a filter without =: a flag error, exit 125', sh: 'ncx ps --filter bogus', exit: 125, stderr: /invalid argument "bogus" for "-f, --filter" flag: bad format of filter \(expected name=value\)/, source: 'docker/cli opts/opts.go (FilterOpt)'},
  {title: '{{.CreatedAt}} as Docker prints it', sh: 'ncx ps --filter name=fx-run --format "{{.CreatedAt}}"', exit: 0, stdout: new RegExp(`^${DATE}\n$`), source: SRC.ps},
  {title: '{{.Command}} quotes arguments with spaces, cut to 20', sh: 'ncx ps -a --filter name=fx-exited --format "{{.Command}}"', exit: 0, stdout: `"sh -c 'echo out; ec…"\n`, source: 'moby daemon/list.go + ' + SRC.ps},
  {title: '{{.Command}} --no-trunc', sh: 'ncx ps -a --no-trunc --filter name=fx-exited --format "{{.Command}}"', exit: 0, stdout: `"sh -c 'echo out; echo err >&2; exit 3'"\n`, source: 'moby daemon/list.go'},
  {title: '{{.Label "k"}}', sh: "ncx ps --filter name=fx-run --format '{{.Label \"fx\"}}'", exit: 0, stdout: '1\n', source: SRC.ps + ' (Label)'},
  {title: '{{.Labels}}', sh: "ncx ps --filter name=fx-run --format '{{.Labels}}'", exit: 0, stdout: 'fx=1\n', source: SRC.ps},
  {title: 'an unknown field is an error', sh: "ncx ps --format '{{.Bogus}}'", exit: 1, stderr: /can't evaluate field Bogus/, source: SRC.ps},
  {title: 'a template that does not parse: exit 1', sh: "ncx ps --format '{{.Names'", exit: 1, stderr: /template/, source: SRC.ps},
  {title: 'table with chosen columns', sh: "ncx ps --filter name=fx-run --format 'table {{.Names}}\\t{{.Image}}'", exit: 0, stdout: 'NAMES     IMAGE\nfx-run    busybox\n', source: SRC.ps},
  {title: '--format json: one object a line with Docker\'s keys', sh: 'ncx ps -a --format json', exit: 0, stdout: jsonLinesWithKeys(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status'], {min: 3}), source: SRC.ps, referenceSkip: 'the docker 20.10 client has no --format json (prints "json"); checked with docker 28'},
  {title: '{{json .}} has the same keys', sh: "ncx ps --filter name=fx-run --format '{{json .}}'", exit: 0, stdout: jsonLinesWithKeys(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']), source: SRC.ps, referenceSkip: 'Platform is only there with the docker 28 client'},
  {title: '{{.LocalVolumes}}', sh: "ncx ps -a --filter name=fx-exited --format '{{.LocalVolumes}}'", exit: 0, stdout: '0\n', source: SRC.ps},
  {title: '{{.Networks}}', sh: "ncx ps --filter name=fx-run --format '{{.Networks}}'", exit: 0, stdout: 'bridge\n', source: SRC.ps},
  {title: '{{.Mounts}} with a named volume', sh: "ncx run -d --name psmount -v fx-vol:/data busybox sleep 1000 >/dev/null && ncx ps --filter name=psmount --format '{{.Mounts}}'", cleanup: 'ncx rm -f psmount', exit: 0, stdout: 'fx-vol\n', source: SRC.ps},
  {title: '{{.Ports}} with -p', sh: "ncx run -d --name psport -p 127.0.0.1:18933:80 busybox sleep 1000 >/dev/null && ncx ps --filter name=psport --format '{{.Ports}}'", cleanup: 'ncx rm -f psport', exit: 0, stdout: '127.0.0.1:18933->80/tcp\n', source: SRC.ps},
  {title: '-s adds SIZE', sh: 'ncx ps -s --filter name=fx-run', exit: 0, stdout: /^CONTAINER ID .* NAMES\s+SIZE\n.* fx-run\s+\S+ \(virtual \S+\)\n$/, source: SRC.ps},
  {title: '-n 1 -a: the newest only', sh: 'ncx ps -a -n 1 -q | wc -l', exit: 0, stdout: '1\n', source: SRC.docs('ps')},
  {title: '-l: the latest one', sh: 'ncx ps -l -q | wc -l', exit: 0, stdout: '1\n', source: SRC.docs('ps')},
  {title: 'the name filter is a substring match', sh: 'ncx ps -a --filter name=x-exi --format "{{.Names}}"', exit: 0, stdout: 'fx-exited\n', source: SRC.docs('ps')},
  {title: 'id filter by prefix', sh: 'id=$(ncx ps -q --filter name=fx-run); ncx ps --filter id=${id:0:6} --format "{{.Names}}"', exit: 0, stdout: 'fx-run\n', source: SRC.docs('ps')},
])

const exec = area('exec', [
  {title: 'runs a command in a running container', sh: 'ncx exec fx-run echo hi', exit: 0, stdout: 'hi\n', source: SRC.docs('exec')},
  {title: "returns the command's exit code", sh: "ncx exec fx-run sh -c 'exit 5'", exit: 5, source: SRC.docs('exec')},
  {title: 'a command that is not found: 126', sh: 'ncx exec fx-run nosuchcmd 2>&1', exit: 126, stdout: /executable file not found/, source: SRC.engine + ' (runc exec)'},
  {title: 'a command that cannot be invoked: 126', sh: 'ncx exec fx-run /etc/passwd 2>&1', exit: 126, stdout: /permission denied/, source: SRC.engine + ' (runc exec)'},
  {title: '-w to a missing directory fails as runc does', sh: 'ncx exec -w /nonexistent fx-run pwd 2>&1', exit: 126, stdout: /chdir to cwd \("\/nonexistent"\) set in config.json failed: no such file or directory/, source: SRC.engine + ' (runc exec)'},
  {title: '-w', sh: 'ncx exec -w /tmp fx-run pwd', exit: 0, stdout: '/tmp\n', source: SRC.docs('exec')},
  {title: '-u', sh: 'ncx exec -u 1000 fx-run id -u', exit: 0, stdout: '1000\n', source: SRC.docs('exec')},
  {title: '-u with an unknown user: 126', sh: 'ncx exec -u nosuch fx-run true 2>&1', exit: 126, stdout: /unable to find user nosuch: no matching entries in passwd file/, source: SRC.engine},
  {title: '-e', sh: "ncx exec -e A=b fx-run sh -c 'echo $A'", exit: 0, stdout: 'b\n', source: SRC.docs('exec')},
  {title: '-i forwards stdin', sh: 'echo piped | ncx exec -i fx-run cat', exit: 0, stdout: 'piped\n', source: SRC.docs('exec')},
  {title: 'without -i no stdin', sh: 'echo piped | ncx exec fx-run cat', exit: 0, stdout: EMPTY, source: SRC.docs('exec')},
  {title: '-it without a terminal: exit 1', sh: 'ncx exec -it fx-run true </dev/null', exit: 1, stderr: /the input device is not a TTY/, source: 'docker/cli cli/command/container/exec.go'},
  {title: '-d returns at once', sh: 'ncx exec -d fx-run sleep 1', exit: 0, stdout: EMPTY, source: SRC.docs('exec')},
  {title: 'a stopped container: exit 1', sh: 'ncx exec fx-created echo hi', exit: 1, stderr: /is not running/, source: SRC.engine},
  {title: 'a missing container: exit 1', sh: 'ncx exec nosuch echo', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'arguments after the command belong to it', sh: 'ncx exec fx-run ls -d /tmp', exit: 0, stdout: '/tmp\n', source: SRC.docs('exec')},
  {title: 'the environment has the image PATH', sh: "ncx exec fx-run sh -c 'echo $PATH'", exit: 0, stdout: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n', source: SRC.docs('exec')},
])

const inspect = area('inspect', [
  {title: 'falls back to images', sh: "ncx inspect --format '{{.Id}}' busybox", exit: 0, stdout: /^sha256:[0-9a-f]{64}\n$/, source: SRC.inspect},
  {title: 'falls back to volumes', sh: "ncx inspect --format '{{.Name}} {{.Driver}}' fx-vol", exit: 0, stdout: 'fx-vol local\n', source: SRC.inspect},
  {title: 'falls back to networks', sh: "ncx inspect --format '{{.Name}} {{.Driver}}' fx-net", exit: 0, stdout: 'fx-net bridge\n', source: SRC.inspect},
  {title: 'an image as plain JSON', sh: 'ncx inspect busybox', exit: 0, stdout: jsonHas(['0.Id', '0.RepoTags', '0.Config', '0.RootFS', '0.GraphDriver']), source: SRC.inspect},
  {title: '--type image', sh: "ncx inspect --type image --format '{{.RepoTags}}' busybox", exit: 0, stdout: '[busybox:latest fx-img:v1]\n', source: SRC.inspect},
  {title: '--type container narrows it', sh: 'ncx inspect --type container busybox', exit: 1, stdout: '[]\n', stderr: noSuchContainer('busybox'), source: SRC.inspect},
  {title: '--type volume', sh: "ncx inspect --type volume --format '{{.Name}}' fx-vol", exit: 0, stdout: 'fx-vol\n', source: SRC.inspect},
  {title: '--type network', sh: "ncx inspect --type network --format '{{.Name}}' fx-net", exit: 0, stdout: 'fx-net\n', source: SRC.inspect},
  {title: '--type volume of a missing volume', sh: 'ncx inspect --type volume busybox', exit: 1, stdout: '[]\n', stderr: /no such volume/i, source: SRC.inspect},
  {title: 'an unknown --type: exit 1', sh: 'ncx inspect --type bogus busybox', exit: 1, stderr: /unknown type: "bogus"|"bogus" is not a valid value for --type/, source: SRC.inspect},
  {title: 'a missing object: [] and exit 1', sh: 'ncx inspect nosuch', exit: 1, stdout: '[]\n', stderr: /No such object: nosuch/, source: SRC.inspect},
  {title: 'found and missing: the found ones, exit 1', sh: 'ncx inspect fx-run nosuch', exit: 1, stdout: jsonHas(['0.Id', '0.State']), stderr: /No such object: nosuch/, source: SRC.inspect},
  {title: 'a container: 4-space indented JSON array', sh: 'ncx inspect fx-run | head -2', exit: 0, stdout: '[\n    {\n', source: SRC.inspect},
  {title: 'State.Status and ExitCode', sh: "ncx inspect -f '{{.State.Status}} {{.State.ExitCode}}' fx-exited", exit: 0, stdout: 'exited 3\n', source: SRC.docs('inspect')},
  {title: 'Name has a leading slash', sh: "ncx inspect -f '{{.Name}}' fx-run", exit: 0, stdout: '/fx-run\n', source: SRC.docs('inspect')},
  {title: 'Path and Args', sh: "ncx inspect -f '{{.Path}} {{.Args}}' fx-exited", exit: 0, stdout: 'sh [-c echo out; echo err >&2; exit 3]\n', source: SRC.docs('inspect')},
  {title: 'Config.Env: only the image\'s and the user\'s', sh: "ncx run --name inspenv -e A=1 busybox true && ncx inspect -f '{{json .Config.Env}}' inspenv", cleanup: 'ncx rm -f inspenv', exit: 0, stdout: '["A=1","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]\n', source: SRC.engine},
  {title: 'Config.Env of the fixture', sh: "ncx inspect -f '{{json .Config.Env}}' fx-run", exit: 0, stdout: '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]\n', source: SRC.engine},
  {title: 'Config.Image, Cmd, Hostname', sh: "ncx inspect -f '{{.Config.Image}} {{json .Config.Cmd}} {{len .Config.Hostname}}' fx-run", exit: 0, stdout: 'busybox ["sleep","100000"] 12\n', source: SRC.docs('inspect')},
  {title: 'HostConfig.PortBindings with -p', sh: "ncx create --name insport -p 8080:80 busybox >/dev/null && ncx inspect -f '{{json .HostConfig.PortBindings}}' insport", cleanup: 'ncx rm -f insport', exit: 0, stdout: '{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}\n', source: SRC.engine},
  {title: 'HostConfig.RestartPolicy', sh: "ncx create --name insrestart --restart on-failure:3 busybox >/dev/null && ncx inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' insrestart", cleanup: 'ncx rm -f insrestart', exit: 0, stdout: 'on-failure 3\n', source: SRC.engine},
  {
    title: "HostConfig has Docker's keys",
    sh: "ncx inspect -f '{{json .HostConfig}}' fx-run",
    exit: 0,
    stdout: jsonHas(['AutoRemove', 'Binds', 'BlkioDeviceReadBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteBps', 'BlkioDeviceWriteIOps', 'BlkioWeight', 'BlkioWeightDevice', 'CapAdd', 'CapDrop', 'Cgroup', 'CgroupParent', 'CgroupnsMode', 'ConsoleSize', 'ContainerIDFile', 'CpuCount', 'CpuPercent', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuShares', 'CpusetCpus', 'CpusetMems', 'DeviceCgroupRules', 'DeviceRequests', 'Devices', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'IOMaximumBandwidth', 'IOMaximumIOps', 'IpcMode', 'Isolation', 'Links', 'LogConfig', 'MaskedPaths', 'Memory', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'NanoCpus', 'NetworkMode', 'OomKillDisable', 'OomScoreAdj', 'PidMode', 'PidsLimit', 'PortBindings', 'Privileged', 'PublishAllPorts', 'ReadonlyPaths', 'ReadonlyRootfs', 'RestartPolicy', 'Runtime', 'SecurityOpt', 'ShmSize', 'UTSMode', 'Ulimits', 'UsernsMode', 'VolumeDriver', 'VolumesFrom']),
    source: 'moby api/types/container/host_config.go (API 1.41)',
  },
  {title: 'the top-level keys of a container', sh: "ncx inspect -f '{{json .}}' fx-run", exit: 0, stdout: jsonHas(['AppArmorProfile', 'Args', 'Config', 'Created', 'Driver', 'ExecIDs', 'GraphDriver', 'HostConfig', 'HostnamePath', 'HostsPath', 'Id', 'Image', 'LogPath', 'MountLabel', 'Mounts', 'Name', 'NetworkSettings', 'Path', 'Platform', 'ProcessLabel', 'ResolvConfPath', 'RestartCount', 'State']), source: 'moby api/types/types.go ContainerJSON'},
  {title: 'State keys', sh: "ncx inspect -f '{{json .State}}' fx-exited", exit: 0, stdout: jsonHas(['Dead', 'Error', 'ExitCode', 'FinishedAt', 'OOMKilled', 'Paused', 'Pid', 'Restarting', 'Running', 'StartedAt', 'Status']), source: 'moby api/types/types.go ContainerState'},
  {title: 'Config keys', sh: "ncx inspect -f '{{json .Config}}' fx-run", exit: 0, stdout: jsonHas(['AttachStderr', 'AttachStdin', 'AttachStdout', 'Cmd', 'Domainname', 'Entrypoint', 'Env', 'Hostname', 'Image', 'Labels', 'OnBuild', 'OpenStdin', 'StdinOnce', 'Tty', 'User', 'Volumes', 'WorkingDir']), source: 'moby api/types/container/config.go'},
  {title: '-s adds SizeRw and SizeRootFs', sh: "ncx inspect -s -f '{{.SizeRw}} {{.SizeRootFs}}' fx-run", exit: 0, stdout: /^\d+ \d+\n$/, source: SRC.docs('inspect') + ' (--size)'},
  {title: '--size on container inspect', sh: "ncx container inspect --size -f '{{.SizeRootFs}}' fx-run", exit: 0, stdout: /^\d+\n$/, source: SRC.docs('container inspect')},
  {title: 'an unknown field in a template: exit 1', sh: "ncx inspect --format '{{.Bogus}}' fx-run", exit: 1, stderr: /Bogus/, source: SRC.inspect},
  {title: 'container inspect does not fall back to images', sh: 'ncx container inspect busybox', exit: 1, stdout: '[]\n', stderr: noSuchContainer('busybox'), source: SRC.docs('container inspect')},
  {title: 'image inspect of a container name', sh: 'ncx image inspect fx-run', exit: 1, stdout: '[]\n', stderr: noSuchImage('fx-run'), source: SRC.docs('image inspect')},
  {title: 'image inspect has GraphDriver', sh: "ncx image inspect -f '{{json .GraphDriver}}' busybox", exit: 0, stdout: jsonHas(['Data', 'Name']), source: 'moby api/types/types.go ImageInspect'},
  {title: 'image inspect keys', sh: "ncx image inspect -f '{{json .}}' busybox", exit: 0, stdout: jsonHas(['Architecture', 'Author', 'Comment', 'Config', 'Created', 'DockerVersion', 'GraphDriver', 'Id', 'Metadata', 'Os', 'Parent', 'RepoDigests', 'RepoTags', 'RootFS', 'Size']), source: 'moby api/types/types.go ImageInspect'},
  {title: 'image inspect Os/Architecture', sh: "ncx image inspect -f '{{.Os}}' busybox", exit: 0, stdout: 'linux\n', source: SRC.docs('image inspect')},
  {title: 'RestartCount', sh: "ncx inspect -f '{{.RestartCount}}' fx-exited", exit: 0, stdout: '0\n', source: SRC.docs('inspect')},
  {title: 'NetworkSettings.Networks has the network', sh: "ncx inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' fx-run", exit: 0, stdout: 'bridge\n', source: SRC.docs('inspect')},
])

const cp = area('cp', [
  {title: 'into a running container and back', sh: 'echo hello > cpf.txt && ncx cp cpf.txt fx-run:/cpf.txt && ncx exec fx-run cat /cpf.txt', exit: 0, stdout: 'hello\n', source: SRC.docs('cp')},
  {title: 'out of a container', sh: 'ncx cp fx-run:/etc/hostname cphost.txt && wc -c < cphost.txt', cleanup: 'rm -f cphost.txt', exit: 0, stdout: '13\n', source: SRC.docs('cp')},
  {title: 'out of a stopped container', sh: 'ncx cp fx-exited:/etc/passwd cppw.txt && head -1 cppw.txt', cleanup: 'rm -f cppw.txt', exit: 0, stdout: 'root:x:0:0:root:/root:/bin/sh\n', source: SRC.docs('cp')},
  {title: 'to stdout as a tar', sh: 'ncx cp fx-run:/etc/hostname - | tar -t', exit: 0, stdout: 'hostname\n', source: SRC.docs('cp')},
  {title: 'from stdin as a tar', sh: 'mkdir -p cpin && echo x > cpin/f && tar -C cpin -c f | ncx cp - fx-run:/ && ncx exec fx-run cat /f', exit: 0, stdout: 'x\n', source: SRC.docs('cp')},
  {title: 'a directory', sh: 'mkdir -p cpdir/sub && echo y > cpdir/sub/g && ncx cp cpdir fx-run:/ && ncx exec fx-run cat /cpdir/sub/g', exit: 0, stdout: 'y\n', source: SRC.docs('cp')},
  {title: 'into a volume of a created container', sh: 'echo vol > cpv.txt && ncx create --name cpvol -v cpvolv:/data busybox >/dev/null && ncx cp cpv.txt cpvol:/data/cpv.txt && ncx run --rm -v cpvolv:/data busybox cat /data/cpv.txt', cleanup: 'ncx rm -f cpvol; ncx volume rm -f cpvolv', exit: 0, stdout: 'vol\n', source: SRC.docs('cp')},
  {title: 'into a bind mount of a created container', sh: 'mkdir -p cpbind && chmod 777 cpbind && echo bind > cpb.txt && ncx create --name cpbindc -v "$W/cpbind:/bind" busybox >/dev/null && ncx cp cpb.txt cpbindc:/bind/cpb.txt && cat cpbind/cpb.txt', cleanup: 'ncx rm -f cpbindc', exit: 0, stdout: 'bind\n', source: SRC.docs('cp')},
  {title: 'into a volume of a stopped container', sh: 'echo stopped > cps.txt && ncx run --name cpstop -v cpstopv:/data busybox true && ncx cp cps.txt cpstop:/data/cps.txt && ncx run --rm -v cpstopv:/data busybox cat /data/cps.txt', cleanup: 'ncx rm -f cpstop; ncx volume rm -f cpstopv', exit: 0, stdout: 'stopped\n', source: SRC.docs('cp')},
  {title: '-a=false is accepted', sh: 'echo a > cpa.txt && ncx cp -a=false cpa.txt fx-run:/cpa.txt && ncx exec fx-run cat /cpa.txt', exit: 0, stdout: 'a\n', source: SRC.docs('cp') + ' (-a is a boolean flag)'},
  {title: 'a missing container: exit 1', sh: 'ncx cp nosuch:/x .', exit: 1, stderr: /No such container(:path)?: nosuch/, source: SRC.engine},
  {title: 'a missing path in the container: exit 1', sh: 'ncx cp fx-run:/nonexistent .', exit: 1, stderr: /(No such container:path: fx-run:\/nonexistent|Could not find the file \/nonexistent in container fx-run)/, source: SRC.engine},
  {title: 'neither side a container: exit 1', sh: 'ncx cp a b', exit: 1, stderr: /must specify at least one container source/, source: 'docker/cli cli/command/container/cp.go'},
  {title: 'both sides containers: exit 1', sh: 'ncx cp fx-run:/a fx-exited:/b', exit: 1, stderr: /copying between containers is not supported/, source: 'docker/cli cli/command/container/cp.go'},
  {title: 'a missing local source: exit 1', sh: 'ncx cp /nonexistent-src fx-run:/', exit: 1, stderr: /no such file or directory/, source: 'docker/cli cli/command/container/cp.go'},
  {title: 'into a missing directory: exit 1', sh: 'echo z > cpz.txt && ncx cp cpz.txt fx-run:/nonexistent-dir/sub/', exit: 1, stderr: /no such directory/, source: 'docker/cli cli/command/container/cp.go'},
])

const images = area('images', [
  {title: 'the default columns', sh: 'ncx images busybox', exit: 0, stdout: /^REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\nbusybox      latest    bd55cb020e0b   \d+ years ago   \S+MB\n$/, source: SRC.images},
  {title: '-a (as in rmi $(images -aq))', sh: 'ncx images -a busybox --format "{{.Repository}}"', exit: 0, stdout: 'busybox\n', source: SRC.docs('images')},
  {title: '--all', sh: 'ncx images --all -q busybox', exit: 0, stdout: 'bd55cb020e0b\n', source: SRC.docs('images')},
  {title: '-q: one ID per image, deduplicated', sh: 'ncx images -q | sort -u | grep -c bd55cb020e0b', exit: 0, stdout: '1\n', source: SRC.docs('images')},
  {title: '-q --no-trunc', sh: 'ncx images -q --no-trunc busybox', exit: 0, stdout: /^sha256:bd55cb020e0b[0-9a-f]{52}\n$/, source: SRC.docs('images')},
  {title: 'a repository without a tag lists all its tags', sh: 'ncx tag busybox localhost:5000/ns/name:a && ncx tag busybox localhost:5000/ns/name:b && ncx images localhost:5000/ns/name --format "{{.Tag}}"', cleanup: 'ncx rmi localhost:5000/ns/name:a localhost:5000/ns/name:b', exit: 0, stdout: 'a\nb\n', source: SRC.docs('images')},
  {title: 'REPOSITORY:TAG', sh: 'ncx images fx-img:v1 --format "{{.Repository}}:{{.Tag}}"', exit: 0, stdout: 'fx-img:v1\n', source: SRC.docs('images')},
  {title: 'no match: the header only', sh: 'ncx images nosuch', exit: 0, stdout: 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n', source: SRC.images},
  {title: '{{.CreatedAt}} as Docker prints it', sh: 'ncx images busybox --format "{{.CreatedAt}}"', exit: 0, stdout: '2024-01-01 00:00:00 +0000 UTC\n', source: SRC.images},
  {title: '--format json keys', sh: 'ncx images busybox --format json', exit: 0, stdout: jsonLinesWithKeys(['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']), source: SRC.images, referenceSkip: 'the docker 20.10 client has no --format json (prints "json"); checked with docker 28'},
  {title: 'Containers, SharedSize, UniqueSize are N/A', sh: "ncx images busybox --format '{{.Containers}} {{.SharedSize}} {{.UniqueSize}}'", exit: 0, stdout: 'N/A N/A N/A\n', source: SRC.images},
  {title: 'Digest of a loaded image is <none>', sh: "ncx images busybox --format '{{.Digest}}'", exit: 0, stdout: '<none>\n', source: SRC.images},
  {title: '{{.Label}} is not a field of images: exit 1', sh: "ncx images --format '{{.Label \"x\"}}'", exit: 1, stderr: /can't evaluate field Label/, source: SRC.images},
  {title: 'an unknown field: exit 1', sh: "ncx images --format '{{.Bogus}}'", exit: 1, stderr: /can't evaluate field Bogus/, source: SRC.images},
  {title: 'dangling=true: none here', sh: 'ncx images -f dangling=true -q', exit: 0, stdout: EMPTY, source: SRC.docs('images')},
  {title: 'reference filter with a wildcard', sh: "ncx images --filter 'reference=busy*' --format '{{.Repository}}'", exit: 0, stdout: 'busybox\n', source: SRC.docs('images'), referenceSkip: 'the docker 28 client against dockerd 20.10 sends the filter in a form 20.10 ignores'},
  {title: 'an unknown filter: exit 1', sh: 'ncx images --filter bogus=1', exit: 1, stderr: /Invalid filter 'bogus'/, source: SRC.engine},
  {title: 'table with chosen columns', sh: "ncx images busybox --format 'table {{.Repository}}\\t{{.Tag}}'", exit: 0, stdout: 'REPOSITORY   TAG\nbusybox      latest\n', source: SRC.images},
  {title: 'SIZE as Docker counts it (file contents)', known: 'ncx counts the uncompressed tar size', sh: "ncx images busybox --format '{{.Size}}'", exit: 0, stdout: '1.98MB\n', source: 'moby daemon (layer size: sum of file sizes)'},
])

const tag = area('tag', [
  {title: 'tag prints nothing', sh: 'ncx tag busybox tagged:v2 && ncx images tagged --format "{{.Tag}}"', cleanup: 'ncx rmi tagged:v2', exit: 0, stdout: 'v2\n', source: SRC.docs('tag')},
  {title: 'a missing source image: exit 1', sh: 'ncx tag nosuch x', exit: 1, stderr: noSuchImage('nosuch'), source: SRC.engine},
  {title: 'an invalid target: exit 1', sh: "ncx tag busybox 'Bad:tag!'", exit: 1, stderr: /invalid reference format/, source: 'docker/cli cli/command/image/tag.go'},
  {title: 'an uppercase repository: exit 1', sh: 'ncx tag busybox UPPER', exit: 1, stderr: /invalid reference format: repository name (\(library\/UPPER\) )?must be lowercase/, source: 'distribution/reference'},
  {title: 'tag by ID', sh: 'ncx tag bd55cb020e0b byid:1 && ncx images byid --format "{{.ID}}"', cleanup: 'ncx rmi byid:1', exit: 0, stdout: 'bd55cb020e0b\n', source: SRC.docs('tag')},
])

const rmi = area('rmi', [
  {title: 'prints Untagged', sh: 'ncx tag busybox rmi1:v && ncx rmi rmi1:v', exit: 0, stdout: 'Untagged: rmi1:v\n', source: SRC.docs('rmi')},
  {title: 'a missing image: exit 1', sh: 'ncx rmi nosuch', exit: 1, stderr: noSuchImage('nosuch'), source: SRC.engine},
  {title: '-f on a missing image: exit 0', sh: 'ncx rmi -f nosuch', exit: 0, stdout: EMPTY, source: 'docker/cli cli/command/image/remove.go (force ignores not found)'},
  {title: '-f on several, one missing: the rest removed, exit 0', sh: 'ncx tag busybox rmi2:v && ncx rmi -f nosuch rmi2:v', exit: 0, stdout: 'Untagged: rmi2:v\n', source: 'docker/cli cli/command/image/remove.go'},
  {title: 'one of several missing: exit 1, the rest removed', sh: 'ncx tag busybox rmi3:v && ncx rmi nosuch rmi3:v', exit: 1, stdout: 'Untagged: rmi3:v\n', stderr: noSuchImage('nosuch'), source: 'docker/cli cli/command/image/remove.go'},
  {title: 'an image a container uses, by ID: conflict, exit 1', sh: 'ncx rmi bd55cb020e0b', exit: 1, stderr: /conflict: unable to delete bd55cb020e0b \(must be forced\) - image is referenced in multiple repositories|conflict: unable to delete bd55cb020e0b \(cannot be forced\) - image is being used by running container/, source: SRC.engine},
])

const history = area('history', [
  {title: 'the default columns', sh: 'ncx history busybox | head -1', exit: 0, stdout: /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n$/, source: SRC.docs('history')},
  {title: 'a missing image: exit 1', sh: 'ncx history nosuch', exit: 1, stderr: noSuchImage('nosuch'), source: SRC.engine},
  {title: '-q', sh: 'ncx history -q busybox', exit: 0, stdout: 'bd55cb020e0b\n', source: SRC.docs('history')},
])

const archives = area('save/load', [
  {title: 'save -o then load -i', sh: 'ncx save busybox -o sl.tar && ncx load -i sl.tar', cleanup: 'rm -f sl.tar', exit: 0, stdout: 'Loaded image: busybox:latest\n', source: SRC.docs('load')},
  {title: 'save to a pipe, load from stdin', sh: 'ncx save busybox | ncx load', exit: 0, stdout: 'Loaded image: busybox:latest\n', source: SRC.docs('load')},
  {title: 'load -q still prints Loaded image', sh: 'ncx load -q -i "$IMG/busybox.docker.tar"', exit: 0, stdout: 'Loaded image: busybox:latest\n', source: SRC.engine},
  {title: 'load of a missing file: exit 1', sh: 'ncx load -i /nonexist', exit: 1, stderr: /open \/nonexist: no such file or directory/, source: 'docker/cli cli/command/image/load.go'},
  {title: 'load of an empty stdin: exit 1', sh: 'ncx load < /dev/null', exit: 1, source: SRC.engine},
  {title: 'load of something that is not an image: exit 1', sh: 'echo junk > junk.tar && ncx load -i junk.tar', cleanup: 'rm -f junk.tar', exit: 1, source: SRC.engine},
  {title: 'save of a missing image: exit 1', sh: 'ncx save nosuch -o x.tar', exit: 1, stderr: noSuchImage('nosuch'), source: SRC.engine},
  {title: 'save writes a tar with manifest.json', sh: 'ncx save busybox | tar -t | grep -c "^manifest.json$"', exit: 0, stdout: '1\n', source: SRC.docs('save')},
  {title: 'import a rootfs tar: prints the ID', sh: 'ncx import "$IMG/busybox.rootfs.tar" imp:1', cleanup: 'ncx rmi imp:1', exit: 0, stdout: new RegExp(`^sha256:${ID64}\n$`), source: SRC.docs('import')},
  {title: 'import of a missing file: exit 1', sh: 'ncx import /nonexist x:1', exit: 1, stderr: /open \/nonexist: no such file or directory/, source: 'docker/cli cli/command/image/import.go'},
  {title: 'export -o', sh: 'ncx export fx-exited -o ex.tar && tar -tf ex.tar | grep -c "^bin/busybox$"', cleanup: 'rm -f ex.tar', exit: 0, stdout: '1\n', source: SRC.docs('export')},
  {title: 'export of a missing container: exit 1', sh: 'ncx export nosuch -o x.tar', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'commit prints the image ID', sh: 'ncx commit fx-exited committed:1', cleanup: 'ncx rmi committed:1', exit: 0, stdout: new RegExp(`^sha256:${ID64}\n$`), source: SRC.docs('commit')},
])

const volume = area('volume', [
  {title: 'create prints the name', sh: 'ncx volume create vc1', cleanup: 'ncx volume rm vc1', exit: 0, stdout: 'vc1\n', source: SRC.docs('volume create')},
  {title: 'create without a name prints a 64-hex name', sh: 'ncx volume create | tee vname.txt', cleanup: 'ncx volume rm "$(cat vname.txt)"; rm -f vname.txt', exit: 0, stdout: new RegExp(`^${ID64}\n$`), source: SRC.docs('volume create')},
  {title: 'an invalid name: exit 1', sh: 'ncx volume create bad/name', exit: 1, stderr: /"bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/, source: 'moby volume/local/local.go'},
  {title: 'ls columns', sh: 'ncx volume ls --filter name=fx-vol', exit: 0, stdout: 'DRIVER    VOLUME NAME\nlocal     fx-vol\n', source: SRC.volumes},
  {title: 'ls -q', sh: 'ncx volume ls -q --filter name=fx-vol', exit: 0, stdout: 'fx-vol\n', source: SRC.docs('volume ls')},
  {title: 'name filter is a regular expression', sh: "ncx volume ls -q --filter 'name=^fx-v.l$'", exit: 0, stdout: 'fx-vol\n', source: 'moby volume/service (name filter: regexp)'},
  {title: 'name filter as a substring', sh: 'ncx volume ls -q --filter name=x-vo', exit: 0, stdout: 'fx-vol\n', source: 'moby volume/service'},
  {title: 'label filter', sh: 'ncx volume ls -q --filter label=fx=1', exit: 0, stdout: 'fx-vol\n', source: SRC.docs('volume ls')},
  {title: 'dangling=true', sh: 'ncx volume ls -q --filter dangling=true --filter name=fx-vol', exit: 0, stdout: 'fx-vol\n', source: SRC.docs('volume ls')},
  {title: 'an unknown filter: exit 1', sh: 'ncx volume ls --filter bogus=1', exit: 1, stderr: /Invalid filter 'bogus'/, source: SRC.engine},
  {title: '--format json keys', sh: 'ncx volume ls --filter name=fx-vol --format json', exit: 0, stdout: jsonLinesWithKeys(['Availability', 'Driver', 'Group', 'Labels', 'Links', 'Mountpoint', 'Name', 'Scope', 'Size', 'Status']), source: SRC.volumes, referenceSkip: 'the docker 20.10 client has no --format json; checked with docker 28'},
  {title: '{{.Label "k"}}', sh: "ncx volume ls --filter name=fx-vol --format '{{.Label \"fx\"}}'", exit: 0, stdout: '1\n', source: SRC.volumes},
  {title: 'inspect with a template', sh: "ncx volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}}' fx-vol", exit: 0, stdout: 'fx-vol local local\n', source: SRC.docs('volume inspect')},
  {title: 'inspect of a missing volume: [] and exit 1', sh: 'ncx volume inspect nosuch', exit: 1, stdout: '[]\n', stderr: noSuchVolume('nosuch'), source: SRC.engine},
  {title: 'rm of a missing volume: exit 1', sh: 'ncx volume rm nosuch', exit: 1, stderr: noSuchVolume('nosuch'), source: SRC.engine},
  {title: 'rm -f of a missing volume: exit 0', sh: 'ncx volume rm -f nosuch', exit: 0, source: SRC.docs('volume rm')},
  {title: 'rm of a volume in use: exit 1', sh: 'ncx create --name volinuse -v volinusev:/d busybox >/dev/null && ncx volume rm volinusev', cleanup: 'ncx rm -f volinuse; ncx volume rm -f volinusev', exit: 1, stderr: /volume is in use/, source: SRC.engine},
  {title: 'rm prints the name', sh: 'ncx volume create vrm >/dev/null && ncx volume rm vrm', exit: 0, stdout: 'vrm\n', source: SRC.docs('volume rm')},
  {title: '--label on create', sh: "ncx volume create --label a=b vlab >/dev/null && ncx volume inspect -f '{{.Labels.a}}' vlab", cleanup: 'ncx volume rm vlab', exit: 0, stdout: 'b\n', source: SRC.docs('volume create')},
  {title: 'create of an existing name is not an error', sh: 'ncx volume create fx-vol', exit: 0, stdout: 'fx-vol\n', source: SRC.docs('volume create')},
])

const network = area('network', [
  {title: 'ls lists bridge, host and none', sh: "ncx network ls --format '{{.Name}}'", exit: 0, stdout: 'bridge\nfx-net\nhost\nnone\n', source: SRC.docs('network ls')},
  {title: 'ls columns', sh: 'ncx network ls --filter name=fx-net', exit: 0, stdout: new RegExp(`^NETWORK ID     NAME      DRIVER    SCOPE\n${ID12}   fx-net    bridge    local\n$`), source: SRC.networks},
  {title: 'ls -q', sh: 'ncx network ls -q | wc -l', exit: 0, stdout: '4\n', source: SRC.docs('network ls')},
  {title: '--filter name', sh: "ncx network ls --filter name=fx-net --format '{{.Name}}'", exit: 0, stdout: 'fx-net\n', source: SRC.docs('network ls')},
  {title: '-f driver=bridge', sh: "ncx network ls -f driver=bridge --format '{{.Name}}'", exit: 0, stdout: 'bridge\nfx-net\n', source: SRC.docs('network ls')},
  {title: '-f type=builtin', sh: "ncx network ls -f type=builtin --format '{{.Name}}'", exit: 0, stdout: 'bridge\nhost\nnone\n', source: SRC.docs('network ls')},
  {title: '-f type=custom', sh: "ncx network ls -f type=custom --format '{{.Name}}'", exit: 0, stdout: 'fx-net\n', source: SRC.docs('network ls')},
  {title: '-f label', sh: "ncx network ls -f label=fx=1 --format '{{.Name}}'", exit: 0, stdout: 'fx-net\n', source: SRC.docs('network ls')},
  {title: '-f scope=local', sh: 'ncx network ls -f scope=local -q | wc -l', exit: 0, stdout: '4\n', source: SRC.docs('network ls')},
  {title: '-f dangling=true', sh: "ncx network ls -f dangling=true --format '{{.Name}}'", exit: 0, stdout: 'fx-net\n', source: SRC.docs('network ls')},
  {title: '-f id by prefix', sh: "id=$(ncx network ls -q -f name=fx-net); ncx network ls -f id=${id:0:5} --format '{{.Name}}'", exit: 0, stdout: 'fx-net\n', source: SRC.docs('network ls')},
  {title: 'an unknown filter: exit 1', sh: 'ncx network ls -f bogus=1', exit: 1, stderr: /Invalid filter 'bogus'/, source: SRC.engine},
  {title: 'a bad type value: exit 1', sh: 'ncx network ls -f type=bogus', exit: 1, stderr: /invalid filter: 'type'='bogus'/, source: SRC.engine},
  {title: '--format json keys', sh: 'ncx network ls --filter name=fx-net --format json', exit: 0, stdout: jsonLinesWithKeys(['CreatedAt', 'Driver', 'ID', 'IPv4', 'IPv6', 'Internal', 'Labels', 'Name', 'Scope']), source: SRC.networks, referenceSkip: 'the docker 20.10 client has no --format json; checked with docker 28'},
  {title: '{{.Label "k"}}', sh: "ncx network ls --filter name=fx-net --format '{{.Label \"fx\"}}'", exit: 0, stdout: '1\n', source: SRC.networks},
  {title: 'create --label before the name', sh: 'ncx network create --label k=v netlab', cleanup: 'ncx network rm netlab', exit: 0, stdout: new RegExp(`^${ID64}\n$`), source: SRC.docs('network create')},
  {title: 'create: the label is kept', sh: "ncx network create --label k=v netlab2 >/dev/null && ncx network inspect -f '{{.Labels.k}}' netlab2", cleanup: 'ncx network rm netlab2', exit: 0, stdout: 'v\n', source: SRC.docs('network create')},
  {title: 'create of an existing name: exit 1', sh: 'ncx network create fx-net', exit: 1, stderr: /network with name fx-net already exists/, source: SRC.engine},
  {title: 'create with a bad subnet: exit 1', sh: 'ncx network create --subnet bogus netbad', exit: 1, stderr: /invalid CIDR address: bogus/, source: SRC.engine},
  {title: 'create with an unknown driver: exit 1', sh: 'ncx network create --driver bogus netdrv', exit: 1, stderr: /plugin "bogus" not found/, source: SRC.engine},
  {title: 'create --subnet', sh: "ncx network create --subnet 10.123.0.0/24 netsub >/dev/null && ncx network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' netsub", cleanup: 'ncx network rm netsub', exit: 0, stdout: '10.123.0.0/24\n', source: SRC.docs('network create')},
  {title: 'rm prints the name', sh: 'ncx network create netrm >/dev/null && ncx network rm netrm', exit: 0, stdout: 'netrm\n', source: SRC.docs('network rm')},
  {title: 'rm of a missing network: exit 1', sh: 'ncx network rm nosuch', exit: 1, stderr: noSuchNetwork('nosuch'), source: SRC.engine},
  {title: 'rm -f of a missing network: exit 0', sh: 'ncx network rm -f nosuch', exit: 0, source: SRC.docs('network rm'), referenceSkip: 'the docker 20.10 client has no network rm -f; checked with docker 28'},
  {title: 'rm of a predefined network: exit 1', sh: 'ncx network rm bridge', exit: 1, stderr: /bridge is a pre-defined network and cannot be removed/, source: SRC.engine},
  {title: 'inspect with a template', sh: "ncx network inspect -f '{{.Name}} {{.Driver}} {{.Scope}}' fx-net", exit: 0, stdout: 'fx-net bridge local\n', source: SRC.docs('network inspect')},
  {title: 'inspect of a missing network: [] and exit 1', sh: 'ncx network inspect nosuch', exit: 1, stdout: '[]\n', stderr: noSuchNetwork('nosuch'), source: SRC.engine},
  {title: 'inspect of host and none', sh: "ncx network inspect -f '{{.Name}} {{.Driver}}' host none", exit: 0, stdout: 'host host\nnone null\n', source: SRC.docs('network inspect')},
  {title: 'connect and disconnect', sh: "ncx run -d --name netconn busybox sleep 1000 >/dev/null && ncx network connect fx-net netconn && ncx inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' netconn && ncx network disconnect fx-net netconn", cleanup: 'ncx rm -f netconn', exit: 0, stdout: 'bridge fx-net \n', source: SRC.docs('network connect')},
  {title: 'connect to a missing network: exit 1', sh: 'ncx network connect nosuch fx-run', exit: 1, stderr: noSuchNetwork('nosuch'), source: SRC.engine},
  {title: 'connect of a missing container: exit 1', sh: 'ncx network connect fx-net nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'a container on a user network resolves another by name', sh: 'ncx run -d --name netres1 --network fx-net busybox sleep 1000 >/dev/null && ncx run --rm --network fx-net busybox ping -c1 -W2 netres1 >/dev/null && echo ok', cleanup: 'ncx rm -f netres1', exit: 0, stdout: 'ok\n', source: SRC.docs('network create')},
  {title: 'rm of a network in use: exit 1', sh: 'ncx run -d --name netuse --network fx-net busybox sleep 1000 >/dev/null && ncx network rm fx-net', cleanup: 'ncx rm -f netuse', exit: 1, stderr: /has active endpoints/, source: SRC.engine},
])

const lifecycle = area('lifecycle', [
  {title: 'rm -f of a missing container: exit 0', sh: 'ncx rm -f nosuch', exit: 0, stdout: EMPTY, source: 'docker/cli cli/command/container/rm.go (force ignores not found)'},
  {title: 'rm -f of several, one missing: exit 0', sh: 'ncx create --name rmf1 busybox >/dev/null && ncx rm -f nosuch rmf1', exit: 0, stdout: 'rmf1\n', source: 'docker/cli cli/command/container/rm.go'},
  {title: 'rm of a missing container: exit 1', sh: 'ncx rm nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'rm of a running container: exit 1', sh: 'ncx rm fx-run', exit: 1, stderr: /You cannot remove a running container|container is running/, source: SRC.engine},
  {title: 'rm prints the name given', sh: 'ncx create --name rmname busybox >/dev/null && ncx rm rmname', exit: 0, stdout: 'rmname\n', source: SRC.docs('rm')},
  {title: 'rm -f of a running one', sh: 'ncx run -d --name rmrun busybox sleep 1000 >/dev/null && ncx rm -f rmrun', exit: 0, stdout: 'rmrun\n', source: SRC.docs('rm')},
  {title: 'rm -v removes anonymous volumes', sh: 'ncx create --name rmv -v /anon busybox >/dev/null && v=$(ncx inspect -f "{{range .Mounts}}{{.Name}}{{end}}" rmv) && ncx rm -v rmv >/dev/null && ncx volume ls -q --filter name=$v', exit: 0, stdout: EMPTY, source: SRC.docs('rm')},
  {title: 'stop prints the name', sh: 'ncx run -d --name stop1 busybox sleep 1000 >/dev/null && ncx stop -t 1 stop1', cleanup: 'ncx rm -f stop1', exit: 0, stdout: 'stop1\n', timeout: 30_000, source: SRC.docs('stop')},
  {title: 'stop of a stopped container is fine', sh: 'ncx stop fx-exited', exit: 0, stdout: 'fx-exited\n', source: SRC.docs('stop')},
  {title: 'stop of a missing container: exit 1', sh: 'ncx stop nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'stop -t that does not parse: exit 125', sh: 'ncx stop -t abc fx-run', exit: 125, stderr: /invalid argument "abc" for "-t, --(time|timeout)" flag/, source: SRC.flags},
  {title: 'start of a missing container: exit 1', sh: 'ncx start nosuch', exit: 1, stderr: /No such container: nosuch[\s\S]*failed to start containers: nosuch/, source: 'docker/cli cli/command/container/start.go'},
  {title: 'start prints the name', sh: 'ncx create --name start1 busybox sleep 1000 >/dev/null && ncx start start1', cleanup: 'ncx rm -f start1', exit: 0, stdout: 'start1\n', source: SRC.docs('start')},
  {title: 'restart prints the name', sh: 'ncx run -d --name restart1 busybox sleep 1000 >/dev/null && ncx restart -t 1 restart1', cleanup: 'ncx rm -f restart1', exit: 0, stdout: 'restart1\n', timeout: 30_000, source: SRC.docs('restart')},
  {title: 'restart of a missing container: exit 1', sh: 'ncx restart nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'kill of a stopped container: exit 1', sh: 'ncx kill fx-exited', exit: 1, stderr: /is not running/, source: SRC.engine},
  {title: 'kill with a bad signal: exit 1', sh: 'ncx kill -s bogus fx-run', exit: 1, stderr: /Invalid signal: bogus/, source: SRC.engine},
  {title: 'kill prints the name; the container exits 137', sh: 'ncx run -d --name kill1 busybox sleep 1000 >/dev/null && ncx kill kill1 && ncx wait kill1', cleanup: 'ncx rm -f kill1', exit: 0, stdout: 'kill1\n137\n', source: SRC.docs('kill')},
  {title: 'wait prints the exit code', sh: 'ncx wait fx-exited', exit: 0, stdout: '3\n', source: SRC.docs('wait')},
  {title: 'wait of a missing container: exit 1', sh: 'ncx wait nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'wait on a --restart always container returns the code of the run that ended', sh: "ncx run -d --name waitre --restart always busybox sh -c 'sleep 1; exit 3' >/dev/null && ncx wait waitre", cleanup: 'ncx rm -f waitre', exit: 0, stdout: '3\n', timeout: 30_000, source: 'moby container/state.go (SetRestarting notifies waiters)'},
  {title: 'rename', sh: 'ncx create --name ren1 busybox >/dev/null && ncx rename ren1 ren2 && ncx ps -a --filter name=ren2 --format "{{.Names}}"', cleanup: 'ncx rm -f ren1 ren2', exit: 0, stdout: 'ren2\n', source: SRC.docs('rename')},
  {title: 'rename of a missing container: exit 1', sh: 'ncx rename nosuch y', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'rename to a name in use: exit 1', sh: 'ncx rename fx-exited fx-run', exit: 1, stderr: /Conflict\. The container name "\/fx-run" is already in use/, source: SRC.engine},
  {title: 'pause of a stopped container: exit 1', sh: 'ncx pause fx-created', exit: 1, stderr: /is not running/, source: SRC.engine},
  {title: 'unpause of a running container: exit 1', sh: 'ncx unpause fx-run', exit: 1, stderr: /is not paused/, source: SRC.engine},
  {title: 'top: ps columns', sh: 'ncx top fx-run', exit: 0, stdout: /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n.*sleep 100000\n$/, source: SRC.docs('top')},
  {title: 'top with ps options after the container', sh: 'ncx top fx-run -o pid,comm', exit: 0, stdout: /^PID\s+COMMAND\n\d+\s+sleep\n$/, source: SRC.docs('top')},
  {title: 'top of a stopped container: exit 1', sh: 'ncx top fx-exited', exit: 1, stderr: /is not running/, source: SRC.engine},
  {title: 'port without ports: nothing', sh: 'ncx port fx-run', exit: 0, stdout: EMPTY, source: SRC.docs('port')},
  {title: 'port of an unpublished port: exit 1', sh: 'ncx port fx-run 80', exit: 1, stderr: /No public port '80(\/tcp)?' published for fx-run/, source: 'docker/cli cli/command/container/port.go'},
  {title: 'port lists the mapping', sh: 'ncx run -d --name port1 -p 127.0.0.1:18934:80 busybox sleep 1000 >/dev/null && ncx port port1', cleanup: 'ncx rm -f port1', exit: 0, stdout: '80/tcp -> 127.0.0.1:18934\n', source: SRC.docs('port')},
  {title: 'port PORT', sh: 'ncx run -d --name port2 -p 127.0.0.1:18935:80 busybox sleep 1000 >/dev/null && ncx port port2 80', cleanup: 'ncx rm -f port2', exit: 0, stdout: '127.0.0.1:18935\n', source: SRC.docs('port')},
  {title: 'attach to a stopped container: exit 1', sh: 'ncx attach fx-exited', exit: 1, stderr: /You cannot attach to a stopped container, start it first/, source: 'docker/cli cli/command/container/attach.go'},
  {title: 'diff of a missing container: exit 1', sh: 'ncx diff nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'diff lists changes', sh: 'ncx run --name diff1 busybox touch /newfile && ncx diff diff1', cleanup: 'ncx rm -f diff1', exit: 0, stdout: 'A /newfile\n', source: SRC.docs('diff')},
  {title: 'update of a missing container: exit 1', sh: 'ncx update --restart always nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'update --restart', sh: "ncx create --name upd1 busybox >/dev/null && ncx update --restart always upd1 >/dev/null && ncx inspect -f '{{.HostConfig.RestartPolicy.Name}}' upd1", cleanup: 'ncx rm -f upd1', exit: 0, stdout: 'always\n', source: SRC.docs('update')},
  {title: 'stats --no-stream --format', sh: "ncx stats --no-stream --format '{{.Name}}' fx-run", exit: 0, stdout: 'fx-run\n', source: SRC.docs('stats')},
  {title: 'stats of a missing container: exit 1', sh: 'ncx stats --no-stream nosuch', exit: 1, stderr: noSuchContainer('nosuch'), source: SRC.engine},
  {title: 'kill with -s KILL prints the name', sh: 'ncx run -d --name kill2 busybox sleep 1000 >/dev/null && ncx kill -s KILL kill2', cleanup: 'ncx rm -f kill2', exit: 0, stdout: 'kill2\n', source: SRC.docs('kill')},
])

const system = area('system', [
  {title: 'info {{.OSType}}', sh: "ncx info --format '{{.OSType}}'", exit: 0, stdout: 'linux\n', source: SRC.docs('info')},
  {title: 'info {{.CgroupVersion}}', sh: "ncx info --format '{{.CgroupVersion}}'", exit: 0, stdout: /^[12]\n$/, source: SRC.docs('info')},
  {title: 'info {{.CgroupDriver}}', sh: "ncx info --format '{{.CgroupDriver}}'", exit: 0, stdout: /^(cgroupfs|systemd|none)\n$/, source: SRC.docs('info')},
  {title: 'info {{.DockerRootDir}}', sh: "ncx info --format '{{.DockerRootDir}}'", exit: 0, stdout: /^\/\S+\n$/, source: SRC.docs('info')},
  {title: 'info {{json .SecurityOptions}}', sh: "ncx info --format '{{json .SecurityOptions}}'", exit: 0, stdout: /^\[("name=[a-z]+[^"]*",?)+\]\n$/, source: SRC.docs('info')},
  {title: 'info container counts add up', sh: "ncx info --format '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}' | awk '{print ($1 == $2 + $3 + $4) ? \"ok\" : $0}'", exit: 0, stdout: 'ok\n', source: SRC.docs('info')},
  {title: 'info {{.ContainersRunning}} counts the running one', sh: "ncx info --format '{{.ContainersRunning}}'", exit: 0, stdout: '1\n', source: SRC.docs('info')},
  {title: 'info {{.Images}}', sh: "ncx info --format '{{.Images}}'", exit: 0, stdout: /^\d+\n$/, source: SRC.docs('info')},
  {title: 'info {{.Driver}} and {{.NCPU}}', sh: "ncx info --format '{{.NCPU}}'", exit: 0, stdout: /^\d+\n$/, source: SRC.docs('info')},
  {title: 'info with an unknown field: exit 1', sh: "ncx info --format '{{.Bogus}}'", exit: 1, stderr: /can't evaluate field Bogus/, source: SRC.docs('info')},
  {title: 'system df columns', sh: 'ncx system df', exit: 0, stdout: /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s.*\nContainers\s.*\nLocal Volumes\s.*\nBuild Cache\s.*\n$/, source: SRC.docs('system df')},
  {title: 'system df --format json keys', sh: 'ncx system df --format json', exit: 0, stdout: jsonLinesWithKeys(['Active', 'Reclaimable', 'Size', 'TotalCount', 'Type'], {min: 4}), source: 'docker/cli cli/command/formatter/disk_usage.go', referenceSkip: 'the docker 20.10 client has no --format json; checked with docker 28'},
  {title: 'events --since bogus names --since', sh: 'ncx events --since bogus', exit: 1, stderr: /failed to parse value as time or duration: "bogus"/, source: 'docker/cli cli/command/system/events.go (timetypes)'},
  {title: 'events --until bogus', sh: 'ncx events --until bogus', exit: 1, stderr: /failed to parse value as time or duration: "bogus"/, source: 'docker/cli cli/command/system/events.go'},
  {title: 'events {{.Status}} (the old field)', sh: "ncx run --name ev1 busybox sh -c 'exit 3'; sleep 1.1; ncx events --since 1m --until 0s --filter container=ev1 --filter event=die --format '{{.Status}}'", cleanup: 'ncx rm -f ev1', exit: 0, stdout: 'die\n', source: 'moby api/types/events (Message.Status)'},
  {title: 'events of a container: create, start, die', sh: "ncx run --name ev2 busybox true; sleep 1.1; ncx events --since 1m --until 0s --filter container=ev2 --filter event=create --filter event=start --filter event=die --format '{{.Action}}'", cleanup: 'ncx rm -f ev2', exit: 0, stdout: 'create\nstart\ndie\n', source: SRC.docs('events')},
  {title: 'events die has the exit code', sh: "ncx run --name ev3 busybox sh -c 'exit 3'; sleep 1.1; ncx events --since 1m --until 0s --filter container=ev3 --filter event=die --format '{{.Actor.Attributes.exitCode}}'", cleanup: 'ncx rm -f ev3', exit: 0, stdout: '3\n', source: SRC.docs('events')},
  {title: 'events {{json .}} keys', sh: "ncx run --name ev4 busybox true; sleep 1.1; ncx events --since 1m --until 0s --filter container=ev4 --filter event=die --format '{{json .}}'", cleanup: 'ncx rm -f ev4', exit: 0, stdout: jsonLinesWithKeys(['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']), source: 'moby api/types/events'},
  {title: 'events of a network', sh: "ncx network create evnet >/dev/null; sleep 1.1; ncx events --since 1m --until 0s --filter network=evnet --filter event=create --format '{{.Type}} {{.Action}}'", cleanup: 'ncx network rm evnet', exit: 0, stdout: 'network create\n', source: SRC.docs('events')},
  {title: 'events of a volume', sh: "ncx volume create evvol >/dev/null; sleep 1.1; ncx events --since 1m --until 0s --filter volume=evvol --filter event=create --format '{{.Type}} {{.Action}}'", cleanup: 'ncx volume rm evvol', exit: 0, stdout: 'volume create\n', source: SRC.docs('events')},
  {title: 'events default line format', sh: "ncx run --name ev5 busybox sh -c 'exit 3'; sleep 1.1; ncx events --since 1m --until 0s --filter container=ev5 --filter event=die", cleanup: 'ncx rm -f ev5', exit: 0, stdout: new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z container die ${ID64} \\(exitCode=3, image=busybox, name=ev5\\)\n$`), source: 'docker/cli cli/command/system/events.go (printOutput)'},
])

/**
 * Destructive cases last: they clean up the store the fixtures made (run on ncx only after
 * every other case; the reference run skips them, its daemon is thrown away).
 */
const last = area('prune', [
  {title: 'container prune -f lists the removed IDs', sh: 'ncx create --name prune1 busybox >/dev/null && ncx container prune -f | grep -c "^Deleted Containers:$"', exit: 0, stdout: '1\n', source: SRC.docs('container prune')},
  {title: 'system prune -f', sh: 'ncx system prune -f >/dev/null; echo $?', exit: 0, stdout: '0\n', source: SRC.docs('system prune')},
  {title: 'network prune -f removes unused networks', sh: 'ncx network create prunenet >/dev/null && ncx network prune -f | grep -c "^prunenet$"', exit: 0, stdout: '1\n', source: SRC.docs('network prune')},
])

export const CASES: Case[] = [...cli, ...args, ...run, ...logs, ...ps, ...exec, ...inspect, ...cp, ...images, ...tag, ...rmi, ...history, ...archives, ...volume, ...network, ...lifecycle, ...system, ...last]
