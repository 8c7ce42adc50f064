import {UsageError} from '../errors.js'

/** `ncx login SERVER`: a registry host, optionally written as a URL; none means Docker Hub. */
export function parseServer(server: string | undefined): string {
  if (!server) return 'docker.io'
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io') return 'docker.io'
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) throw new UsageError(`invalid registry ${JSON.stringify(server)}`, 'use HOST[:PORT], e.g. registry.example.com or localhost:5000')
  return host
}
