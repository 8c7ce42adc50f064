/** `/_ping`, `/version`, `/info`: what every Docker client asks first. */
import {release} from 'node:os'
import {cpus, totalmem, hostname} from 'node:os'

import {systemInfo} from '../engine/info.js'
import {versionInfo} from '../engine/version.js'
import {API_VERSION, MIN_API_VERSION, Router, baseHeaders} from './http.js'
import {ServiceContext} from './context.js'

const goArch = (a: string) => (a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a)

export function systemRoutes(router: Router, ctx: ServiceContext): void {
  const {engine} = ctx
  const ping = async (): Promise<{body?: unknown; headers: Record<string, string>}> => ({
    headers: {'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1', 'Swarm': 'inactive'},
  })
  router.on('GET', '/_ping', async (req, res) => {
    const {headers} = await ping()
    res.writeHead(200, {...baseHeaders(), ...headers, 'Content-Length': req.method === 'HEAD' ? '0' : '2'})
    res.end(req.method === 'HEAD' ? undefined : 'OK')
    return 'handled'
  })

  router.on('GET', '/version', async () => {
    const v = versionInfo(ctx.version, engine.paths.rootless)
    const s = v.Server
    return {
      body: {
        Platform: {Name: 'ncx'},
        Components: [
          {Name: 'Engine', Version: ctx.version, Details: {ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(process.arch), KernelVersion: release(), Experimental: 'false', NodeVersion: process.version}},
          {Name: 'ncx-runtime', Version: s.Runtime.Version, Details: {Path: s.Runtime.Path, OciRuntimeSpecVersion: s.OciRuntimeSpecVersion}},
        ],
        Version: ctx.version,
        ApiVersion: API_VERSION,
        MinAPIVersion: MIN_API_VERSION,
        GitCommit: '',
        GoVersion: process.version,
        Os: 'linux',
        Arch: goArch(process.arch),
        KernelVersion: release(),
        BuildTime: '',
      },
    }
  })

  router.on('GET', '/info', async () => {
    const i = systemInfo(engine, ctx.version)
    return {
      body: {
        ID: '',
        Containers: i.Containers,
        ContainersRunning: i.ContainersRunning,
        ContainersPaused: i.ContainersPaused,
        ContainersStopped: i.ContainersStopped,
        Images: i.Images,
        Driver: i.Driver,
        DriverStatus: [['Backing Filesystem', i.BackingFilesystem]],
        Plugins: {Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'none']},
        MemoryLimit: true,
        SwapLimit: false,
        CpuCfsPeriod: true,
        CpuCfsQuota: true,
        CPUShares: true,
        CPUSet: true,
        PidsLimit: true,
        IPv4Forwarding: true,
        Debug: false,
        NFd: 0,
        OomKillDisable: false,
        NGoroutines: 0,
        SystemTime: new Date().toISOString(),
        LoggingDriver: 'json-file',
        CgroupDriver: i.CgroupDriver,
        CgroupVersion: i.CgroupVersion,
        NEventsListener: 0,
        KernelVersion: i.KernelVersion,
        OperatingSystem: i.OperatingSystem,
        OSVersion: '',
        OSType: 'linux',
        Architecture: i.Architecture,
        IndexServerAddress: 'https://index.docker.io/v1/',
        RegistryConfig: {IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: []},
        NCPU: i.NCPU || cpus().length,
        MemTotal: i.MemTotal || totalmem(),
        DockerRootDir: i.DockerRootDir,
        HttpProxy: process.env.HTTP_PROXY ?? '',
        HttpsProxy: process.env.HTTPS_PROXY ?? '',
        NoProxy: process.env.NO_PROXY ?? '',
        Name: hostname(),
        Labels: [],
        ExperimentalBuild: false,
        ServerVersion: ctx.version,
        Runtimes: {'ncx-runtime': {path: i.Runtime.path}},
        DefaultRuntime: 'ncx-runtime',
        Swarm: {NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null},
        LiveRestoreEnabled: false,
        Isolation: '',
        InitBinary: 'ncx-init',
        ContainerdCommit: {ID: '', Expected: ''},
        RuncCommit: {ID: '', Expected: ''},
        InitCommit: {ID: '', Expected: ''},
        SecurityOptions: i.SecurityOptions,
        Warnings: [],
      },
    }
  })
}
