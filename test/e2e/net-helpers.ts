// Helpers of the networking e2e tests: HTTP from the host, free ports, a UDP echo round trip.
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {readFileSync} from 'node:fs'
import {get} from 'node:http'
import {AddressInfo, createServer} from 'node:net'
import {join} from 'node:path'

import {Sandbox, asRoot, installation} from './harness.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** GET http://HOST:PORT/PATH (127.0.0.1 by default) from the test process (retrying while the server starts). */
export async function fetchText(port: number, path = '/', attempts = 40, host = '127.0.0.1'): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get({host, port, path, timeout: 5000}, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d))
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))))
        })
        req.on('error', reject)
        req.on('timeout', () => req.destroy(new Error('timeout')))
      })
    } catch (error) {
      if (i >= attempts) throw error
      await sleep(100)
    }
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const {port} = srv.address() as AddressInfo
  await new Promise((r) => srv.close(r))
  return port
}

/**
 * Send `words` as datagrams to a container's published UDP port 5353 and return the replies:
 * the server is node, run by the test user inside the container's network namespace (busybox
 * has no UDP server), echoing each datagram with an `echo:` prefix.
 */
export async function udpEcho(box: Sandbox, container: string, words: string[], host = '127.0.0.1'): Promise<string[]> {
  const hostPort = Number(box.ok(['port', container, '5353/udp']).trim().split(':').pop())
  const pid = box.ok(['inspect', '-f', '{{.State.Pid}}', container]).trim()
  const userns = (JSON.parse(readFileSync(join(box.xdg, 'ncx', 'userns.json'), 'utf8')) as {pid: number}).pid
  const echo = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address,()=>{if(++n===${words.length})process.exit(0)}));s.bind(5353,()=>console.log('ready'));setTimeout(()=>process.exit(1),20000)`
  const runtime = join(installation(), 'native', 'ncx-runtime')
  const args = ['nsexec', '--userns-pid', String(userns), '--netns', `/proc/${pid}/ns/net`, process.execPath, '-e', echo]
  const server = asRoot ? spawn('runuser', ['-u', box.owner.name, '--', runtime, ...args], {stdio: ['ignore', 'pipe', 'inherit']}) : spawn(runtime, args, {stdio: ['ignore', 'pipe', 'inherit']})
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
    server.on('exit', (c) => reject(new Error(`echo server exited ${c}`)))
  })
  const client = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const replies: string[] = []
  try {
    for (const word of words) {
      const reply = new Promise<string>((resolve, reject) => {
        client.once('message', (m) => resolve(m.toString()))
        setTimeout(() => reject(new Error('no UDP reply')), 5000)
      })
      client.send(word, hostPort, host)
      replies.push(await reply)
    }
  } finally {
    client.close()
    // (the server exits after its last reply)
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r))
  }
  return replies
}
