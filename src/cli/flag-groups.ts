/**
 * Help groups for the long flag lists of run/create/exec (`ncx run --help`), as Docker's
 * reference groups them: what would otherwise be 50 flags in one alphabetical block.
 */
const GROUPS: Array<[string, RegExp]> = [
  ['NETWORK', /^(network|net|publish|publish-all|network-alias|net-alias|ip|ip6|dns|dns-search|dns-option|dns-opt|add-host|mac-address|expose|hostname|domainname|link-local-ip|link)$/],
  ['STORAGE', /^(volume|mount|tmpfs|volumes-from|read-only|workdir|storage-opt|volume-driver)$/],
  ['RESOURCES', /^(memory|memory-swap|memory-reservation|cpus|cpu-shares|cpu-quota|cpu-period|cpuset-cpus|cpuset-mems|pids-limit|ulimit|shm-size|oom-kill-disable|oom-score-adj|blkio-weight|device-read-bps|device-write-bps|cgroup-manager|cgroup-parent|cgroupns|memory-swappiness|device-cgroup-rule|gpus|kernel-memory|blkio-weight-device|device-read-iops|device-write-iops|cpu-rt-period|cpu-rt-runtime|cpu-count|cpu-percent|io-maxbandwidth|io-maxiops)$/],
  ['SECURITY', /^(user|cap-add|cap-drop|security-opt|privileged|userns|group-add|device|sysctl|pid|ipc|uts)$/],
  ['HEALTH', /^(health-cmd|health-interval|health-timeout|health-retries|health-start-period|no-healthcheck|health-start-interval)$/],
  ['LOGGING', /^(log-driver|log-opt)$/],
  ['LIFECYCLE', /^(restart|rm|detach|stop-signal|stop-timeout|init|name|pull|platform|entrypoint|label|label-file|annotation|cidfile|quiet|runtime|disable-content-trust|isolation)$/],
  ['TERMINAL AND ENVIRONMENT', /^(interactive|tty|env|env-file|detach-keys|sig-proxy|privileged-exec|attach)$/],
]

export function flagGroup(name: string): string | undefined {
  return GROUPS.find(([, re]) => re.test(name))?.[0]
}
