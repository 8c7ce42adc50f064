#!/usr/bin/env node
// mkimage.js — build small, real, reproducible container images offline from Debian's busybox-static.
// (Over 600 lines: one generator per kind of test image, and the tar and OCI-layout writing they share.)
//
// Usage:
//   node scripts/mkimage.js busybox    [--out DIR] [--tag busybox:latest] [--busybox /bin/busybox]
//       -> DIR/busybox.oci.tar (OCI layout), DIR/busybox.docker.tar (docker save format), DIR/busybox.rootfs.tar
//   node scripts/mkimage.js hostile    [--out DIR] [--canary-dir /tmp/ncx-canary]
//       -> DIR/hostile-{dotdot,symlink,hardlink,abs,mount}.oci.tar (busybox base layer + a malicious layer, for tests)
//       and hostile-mount.oci.tar (symlinks to /, .., the canary dir at mount destinations),
//       hostile-{dev,devrel,proc,sys,etc,dirs}.oci.tar (/dev, /proc, /sys, /etc/hosts …, /run, /mnt,
//       /work planted as symlinks into the canary dir: the runtime must create nothing there)
//   node scripts/mkimage.js volume     [--out DIR] [--tag volume:latest]
//       -> DIR/volume.oci.tar: busybox + /data (uid 1234, 0750, seed.txt) declared VOLUME /data
//   node scripts/mkimage.js multilayer [--out DIR] [--tag multilayer:latest]
//       -> DIR/multilayer.oci.tar, DIR/multilayer.docker.tar (3 layers; exercises whiteouts and opaque dirs)
//   node scripts/mkimage.js multiarch  [--out DIR] [--tag multiarch:latest]
//       -> DIR/multiarch.oci.tar: an OCI index of the host platform (busybox + /arch = "amd64\n" on x86_64)
//          and a foreign one (arm64, or amd64 on arm64 hosts: only /arch = "arm64\n"), foreign first
//   node scripts/mkimage.js big        [--out DIR] [--tag big:latest]
//       -> DIR/big.oci.tar: busybox + 5 layers of ~32 MiB of host files from /usr (~180 MB, gzip -6), for benchmarks
//   node scripts/mkimage.js iperf3     [--out DIR] [--tag iperf3:latest] [--iperf3 /usr/bin/iperf3]
//       -> DIR/iperf3.oci.tar, DIR/iperf3.docker.tar: busybox + Debian's iperf3 binary and the shared libraries
//          ldd names (apt-get install iperf3); CMD ["iperf3","-s"], EXPOSE 5201/tcp, for bench/net.js
// DIR defaults to ./images. Needs /bin/busybox from the Debian package busybox-static (apt-get install busybox-static).
// Output is deterministic (fixed mtimes, sorted entries, uid/gid 0), so digests only change with the busybox binary
// (and, for big, with the host files it copies).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

const MTIME = 1704067200; // 2024-01-01T00:00:00Z, used for every tar entry
const CREATED = '2024-01-01T00:00:00Z';
const ENV_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const ARCH = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

class UsageError extends Error {}

function fail(msg, code = 1) {
  process.stderr.write(`mkimage: ${msg}\n`);
  process.exit(code);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// ---------------------------------------------------------------------------------------------
// Raw ustar writer. Written by hand (rather than tar-stream) so that hostile names such as
// "../../x" and "/abs" are emitted verbatim and the bytes are fully deterministic.
// ---------------------------------------------------------------------------------------------

const TYPE = { file: '0', hardlink: '1', symlink: '2', dir: '5' };

function writeStr(buf, off, len, str, what) {
  const b = Buffer.from(str, 'utf8');
  if (b.length > len) throw new Error(`tar: ${what} too long (${b.length} > ${len}): ${str}`);
  b.copy(buf, off);
}

function writeOct(buf, off, len, n) {
  // len-1 octal digits, zero padded, NUL terminated
  const s = Math.trunc(n).toString(8);
  if (s.length > len - 1) throw new Error(`tar: numeric field overflow (${n})`);
  buf.write(s.padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function splitName(name) {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  // ustar: prefix (<=155) + '/' + name (<=100)
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { name: rest, prefix };
  }
  throw new Error(`tar: name too long for ustar: ${name}`);
}

function tarHeader(e) {
  const h = Buffer.alloc(512, 0);
  const { name, prefix } = splitName(e.name);
  writeStr(h, 0, 100, name, 'name');
  writeOct(h, 100, 8, e.mode);
  writeOct(h, 108, 8, e.uid ?? 0);
  writeOct(h, 116, 8, e.gid ?? 0);
  writeOct(h, 124, 12, e.type === 'file' ? e.data.length : 0);
  writeOct(h, 136, 12, e.mtime ?? MTIME);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write(TYPE[e.type], 156, 1, 'ascii');
  if (e.linkname !== undefined) writeStr(h, 157, 100, e.linkname, 'linkname');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeStr(h, 265, 32, e.uname ?? '', 'uname');
  writeStr(h, 297, 32, e.gname ?? '', 'gname');
  writeOct(h, 329, 8, 0);
  writeOct(h, 337, 8, 0);
  writeStr(h, 345, 155, prefix, 'prefix');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** entries: [{name, type: file|dir|symlink|hardlink, mode, uid?, gid?, data?, linkname?}] in output order. */
function buildTar(entries) {
  const parts = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if (e.type === 'file') {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks = end of archive
  return Buffer.concat(parts);
}

// Entry helpers
const dir = (name, mode = 0o755, uid = 0, gid = 0) => ({ name: name.endsWith('/') ? name : `${name}/`, type: 'dir', mode, uid, gid });
const file = (name, data, mode = 0o644, uid = 0, gid = 0) => ({ name, type: 'file', mode, uid, gid, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
const symlink = (name, linkname) => ({ name, type: 'symlink', mode: 0o777, linkname });
const hardlink = (name, linkname) => ({ name, type: 'hardlink', mode: 0o644, linkname });

/** Deterministic order: by path (without trailing slash) in byte order; parents always precede children. */
function sortEntries(entries) {
  const key = (e) => Buffer.from(e.name.replace(/\/+$/, ''));
  return [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
}

// ---------------------------------------------------------------------------------------------
// busybox rootfs
// ---------------------------------------------------------------------------------------------

/** Returns true when the ELF file has a PT_INTERP program header (i.e. it is dynamically linked). */
function elfIsDynamic(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF binary');
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    if (u32(phoff + i * phentsize) === 3 /* PT_INTERP */) return true;
  }
  return false;
}

function loadBusybox(bbPath) {
  const hint = `install the Debian package "busybox-static" (apt-get install busybox-static), which provides a static /bin/busybox`;
  let st;
  try {
    st = fs.statSync(bbPath);
  } catch {
    fail(`${bbPath} not found: ${hint}`);
  }
  if (!st.isFile()) fail(`${bbPath} is not a regular file: ${hint}`);
  const bin = fs.readFileSync(bbPath);
  let dynamic;
  try {
    dynamic = elfIsDynamic(bin);
  } catch (err) {
    fail(`${bbPath}: ${err.message}: ${hint}`);
  }
  if (dynamic) fail(`${bbPath} is dynamically linked (e.g. from Debian's "busybox" package) and cannot run in an image without libc: ${hint}`);
  let list;
  try {
    list = execFileSync(bbPath, ['--list'], { encoding: 'utf8' });
  } catch (err) {
    fail(`cannot run "${bbPath} --list" (${err.message.split('\n')[0]}): ${hint}`);
  }
  const applets = [...new Set(list.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/')))].sort();
  if (applets.length === 0) fail(`${bbPath} --list returned no applets: ${hint}`);
  let version = '';
  try {
    version = (execFileSync(bbPath, [], { encoding: 'utf8' }).match(/BusyBox v\S+/) || [''])[0];
  } catch (err) {
    version = (String(err.stdout || '').match(/BusyBox v\S+/) || [''])[0];
  }
  return { bin, applets, version };
}

function busyboxRootfsEntries(bb) {
  const passwd = [
    'root:x:0:0:root:/root:/bin/sh',
    'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
    'ncx:x:1000:1000:ncx:/home/ncx:/bin/sh',
    '',
  ].join('\n');
  const group = ['root:x:0:', 'daemon:x:1:', 'tty:x:5:', 'nobody:x:65534:', 'ncx:x:1000:', ''].join('\n');
  const entries = [
    dir('bin'),
    file('bin/busybox', bb.bin, 0o755),
    ...bb.applets.map((a) => symlink(`bin/${a}`, 'busybox')),
    dir('dev'),
    dir('etc'),
    file('etc/passwd', passwd),
    file('etc/group', group),
    file('etc/ncx-image', 'busybox\n'),
    dir('home'),
    dir('home/ncx', 0o755, 1000, 1000),
    dir('proc'),
    dir('root', 0o700),
    dir('sys'),
    dir('tmp', 0o1777),
  ];
  return sortEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Image assembly
// ---------------------------------------------------------------------------------------------

function parseTag(tag) {
  // name[:tag] ; the last ':' after the last '/' separates the tag
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  let name = tag;
  let t = 'latest';
  if (colon > slash) {
    name = tag.slice(0, colon);
    t = tag.slice(colon + 1);
  }
  if (!name || !t || /[A-Z@\s]/.test(name)) throw new UsageError(`invalid --tag "${tag}" (want name[:tag], lowercase)`);
  // fully-qualified name as containerd / docker normalise it
  const first = name.split('/')[0];
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let full = name;
  if (!hasRegistry) full = name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
  return { name, tag: t, short: `${name}:${t}`, full: `${full}:${t}` };
}

/**
 * layers: [{ tar: Buffer (uncompressed), createdBy: string }]
 * Returns everything needed to write both archive formats.
 */
function makeImage(layers, ref, { arch = ARCH[process.arch] ?? process.arch, level = 9, config: extraConfig = {} } = {}) {
  const built = layers.map((l) => {
    const gz = zlib.gzipSync(l.tar, { level });
    return { ...l, diffId: sha256(l.tar), gz, gzDigest: sha256(gz) };
  });
  const config = {
    architecture: arch,
    os: 'linux',
    config: { Env: [ENV_PATH], Cmd: ['sh'], ...extraConfig },
    rootfs: { type: 'layers', diff_ids: built.map((l) => `sha256:${l.diffId}`) },
    history: built.map((l) => ({ created: CREATED, created_by: l.createdBy })),
    created: CREATED,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.manifest,
    config: { mediaType: MT.config, digest: `sha256:${configDigest}`, size: configBytes.length },
    layers: built.map((l) => ({ mediaType: MT.layerGzip, digest: `sha256:${l.gzDigest}`, size: l.gz.length })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return { ref, arch, built, configBytes, configDigest, manifestBytes, manifestDigest: sha256(manifestBytes) };
}

function ociArchive(img) {
  const index = {
    schemaVersion: 2,
    mediaType: MT.index,
    manifests: [
      {
        mediaType: MT.manifest,
        digest: `sha256:${img.manifestDigest}`,
        size: img.manifestBytes.length,
        annotations: {
          'io.containerd.image.name': img.ref.full,
          'org.opencontainers.image.ref.name': img.ref.tag,
        },
        platform: { architecture: img.arch, os: 'linux' },
      },
    ],
  };
  const blobs = new Map(); // dedupe identical blobs (e.g. same layer twice)
  blobs.set(img.configDigest, img.configBytes);
  blobs.set(img.manifestDigest, img.manifestBytes);
  for (const l of img.built) blobs.set(l.gzDigest, l.gz);
  const entries = [
    dir('blobs'),
    dir('blobs/sha256'),
    ...[...blobs.keys()].sort().map((d) => file(`blobs/sha256/${d}`, blobs.get(d))),
    file('index.json', JSON.stringify(index)),
    file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
  ];
  return buildTar(entries);
}

function dockerArchive(img) {
  const entries = [];
  const layerPaths = [];
  let parent;
  const seen = new Set();
  for (const l of img.built) {
    // v1-style layer directory; use the diff id (unique per distinct layer content)
    const id = l.diffId;
    layerPaths.push(`${id}/layer.tar`);
    if (seen.has(id)) continue;
    seen.add(id);
    const v1 = { id, ...(parent ? { parent } : {}), created: CREATED, os: 'linux' };
    entries.push(dir(id), file(`${id}/VERSION`, '1.0'), file(`${id}/json`, JSON.stringify(v1)), file(`${id}/layer.tar`, l.tar));
    parent = id;
  }
  const top = layerPaths[layerPaths.length - 1].split('/')[0];
  const manifest = [{ Config: `${img.configDigest}.json`, RepoTags: [img.ref.short], Layers: layerPaths }];
  const repositories = { [img.ref.name]: { [img.ref.tag]: top } };
  entries.push(
    file(`${img.configDigest}.json`, img.configBytes),
    file('manifest.json', JSON.stringify(manifest)),
    file('repositories', JSON.stringify(repositories)),
  );
  return buildTar(entries);
}

function writeOut(outDir, name, buf, written) {
  fs.mkdirSync(outDir, { recursive: true });
  const dest = path.resolve(outDir, name);
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, dest);
  written.push(dest);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

function baseLayer(bb) {
  return { tar: buildTar(busyboxRootfsEntries(bb)), createdBy: `ADD busybox-static rootfs (${bb.version || 'BusyBox'}, ${bb.applets.length} applets) # ncx mkimage` };
}

function cmdBusybox(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'busybox:latest');
  const base = baseLayer(bb);
  const img = makeImage([base], ref);
  writeOut(opts.out, 'busybox.oci.tar', ociArchive(img), written);
  writeOut(opts.out, 'busybox.docker.tar', dockerArchive(img), written);
  writeOut(opts.out, 'busybox.rootfs.tar', base.tar, written);
}

function cmdHostile(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const base = baseLayer(bb);
  const canary = opts['canary-dir'] ?? '/tmp/ncx-canary';
  if (!path.isAbsolute(canary)) throw new UsageError(`--canary-dir must be an absolute path: ${canary}`);
  const images = {
    // a layer entry that climbs out of the rootfs
    'hostile-dotdot': [
      { tar: buildTar([file('../../canary-dotdot', 'pwned by ../ traversal\n')]), createdBy: 'hostile: ../../canary-dotdot' },
    ],
    // layer 2 plants a symlink pointing outside; layer 3 writes through it
    'hostile-symlink': [
      { tar: buildTar([symlink('escape', canary)]), createdBy: `hostile: symlink escape -> ${canary}` },
      { tar: buildTar([file('escape/pwned', 'pwned through symlink\n')]), createdBy: 'hostile: write escape/pwned' },
    ],
    // hardlinks whose targets are outside the rootfs
    'hostile-hardlink': [
      {
        tar: buildTar([hardlink('passwd', '/etc/passwd'), hardlink('shadow', '../../etc/shadow')]),
        createdBy: 'hostile: hardlinks passwd -> /etc/passwd, shadow -> ../../etc/shadow',
      },
    ],
    // absolute entry name
    'hostile-abs': [{ tar: buildTar([file('/abs-pwned', 'pwned by absolute path\n')]), createdBy: 'hostile: /abs-pwned' }],
    // symlinks at mount destinations (a volume or bind on /toroot/x, /updir/y, /hostdir/z, /vol)
    'hostile-mount': [
      {
        tar: buildTar([symlink('toroot', '/'), symlink('updir', '../../..'), symlink('hostdir', canary), symlink('vol', '../../../..')]),
        createdBy: `hostile: toroot -> /, updir -> ../../.., hostdir -> ${canary}, vol -> ../../../..`,
      },
    ],
    // directories the runtime creates things in, planted as symlinks to host directories
    // (absolute, and relative with enough ../ to climb out of any rootfs)
    'hostile-dev': [{ tar: buildTar([symlink('dev', `${canary}/dev`)]), createdBy: `hostile: dev -> ${canary}/dev` }],
    'hostile-devrel': [
      { tar: buildTar([symlink('dev', `${'../'.repeat(12)}${canary.slice(1)}/devrel`)]), createdBy: `hostile: dev -> ../…/${canary}/devrel` },
    ],
    'hostile-proc': [{ tar: buildTar([symlink('proc', `${canary}/proc`)]), createdBy: `hostile: proc -> ${canary}/proc` }],
    'hostile-sys': [{ tar: buildTar([symlink('sys', `${canary}/sys`)]), createdBy: `hostile: sys -> ${canary}/sys` }],
    'hostile-etc': [
      {
        tar: buildTar([symlink('etc/hosts', `${canary}/etc/hosts`), symlink('etc/resolv.conf', `${canary}/etc/resolv.conf`), symlink('etc/hostname', `${canary}/etc/hostname`)]),
        createdBy: `hostile: etc/hosts, etc/resolv.conf, etc/hostname -> ${canary}/etc/…`,
      },
    ],
    'hostile-dirs': [
      { tar: buildTar([symlink('run', `${canary}/run`), symlink('mnt', `${'../'.repeat(12)}${canary.slice(1)}/mnt`), symlink('work', `${canary}/work`)]), createdBy: `hostile: run, mnt, work -> ${canary}/…` },
    ],
  };
  for (const [name, layers] of Object.entries(images)) {
    const img = makeImage([base, ...layers], parseTag(`${name}:latest`));
    writeOut(opts.out, `${name}.oci.tar`, ociArchive(img), written);
  }
}

/** busybox + /data (uid 1234, mode 0750) with files of two owners, declared VOLUME /data: copy-up. */
function cmdVolume(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'volume:latest');
  const l2 = buildTar([dir('data', 0o750, 1234, 1234), file('data/seed.txt', 'seeded\n', 0o640, 1234, 1234), dir('data/sub', 0o755, 0, 0), file('data/sub/root.txt', 'root\n')]);
  const img = makeImage([baseLayer(bb), { tar: l2, createdBy: 'COPY data /data' }], ref, { config: { Volumes: { '/data': {} } } });
  writeOut(opts.out, 'volume.oci.tar', ociArchive(img), written);
}

function cmdMultilayer(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'multilayer:latest');
  const l2 = buildTar(
    sortEntries([
      dir('data'),
      file('data/a.txt', 'a\n'),
      file('data/b.txt', 'b\n'),
      dir('data/dir'),
      file('data/dir/old.txt', 'old\n'),
    ]),
  );
  const l3 = buildTar([
    dir('data'),
    file('data/.wh.a.txt', ''), // whiteout: /data/a.txt is deleted
    dir('data/dir'),
    file('data/dir/.wh..wh..opq', ''), // opaque: lower contents of /data/dir (old.txt) are hidden
    file('data/dir/new.txt', 'new\n'),
  ]);
  const img = makeImage(
    [
      baseLayer(bb),
      { tar: l2, createdBy: 'ADD data/a.txt data/b.txt data/dir/old.txt # ncx mkimage' },
      { tar: l3, createdBy: 'RUN rm /data/a.txt && make /data/dir opaque, add /data/dir/new.txt # ncx mkimage' },
    ],
    ref,
  );
  writeOut(opts.out, 'multilayer.oci.tar', ociArchive(img), written);
  writeOut(opts.out, 'multilayer.docker.tar', dockerArchive(img), written);
}

// An OCI archive whose index.json points at a nested image index (the layout `docker buildx`
// and `skopeo copy --all` write), so `skopeo copy --all oci-archive:…` pushes a manifest list.
function ociIndexArchive(imgs, ref) {
  const nested = {
    schemaVersion: 2,
    mediaType: MT.index,
    manifests: imgs.map((img) => ({
      mediaType: MT.manifest,
      digest: `sha256:${img.manifestDigest}`,
      size: img.manifestBytes.length,
      platform: { architecture: img.arch, os: 'linux' },
    })),
  };
  const nestedBytes = Buffer.from(JSON.stringify(nested));
  const nestedDigest = sha256(nestedBytes);
  const index = {
    schemaVersion: 2,
    mediaType: MT.index,
    manifests: [
      {
        mediaType: MT.index,
        digest: `sha256:${nestedDigest}`,
        size: nestedBytes.length,
        annotations: { 'io.containerd.image.name': ref.full, 'org.opencontainers.image.ref.name': ref.tag },
      },
    ],
  };
  const blobs = new Map([[nestedDigest, nestedBytes]]);
  for (const img of imgs) {
    blobs.set(img.configDigest, img.configBytes);
    blobs.set(img.manifestDigest, img.manifestBytes);
    for (const l of img.built) blobs.set(l.gzDigest, l.gz);
  }
  const entries = [
    dir('blobs'),
    dir('blobs/sha256'),
    ...[...blobs.keys()].sort().map((d) => file(`blobs/sha256/${d}`, blobs.get(d))),
    file('index.json', JSON.stringify(index)),
    file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
  ];
  return { tar: buildTar(entries), indexDigest: nestedDigest };
}

// Two platforms: the host's (busybox + a layer with /arch = "<host arch>\n") and a foreign one
// (amd64 on arm64 hosts, else arm64: only a layer with /arch = "<foreign arch>\n"). The foreign
// manifest comes first in the index, so a client that takes manifests[0] instead of matching
// the platform gets the wrong image (and no shell).
function cmdMultiarch(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'multiarch:latest');
  const host = ARCH[process.arch] ?? process.arch;
  const foreign = host === 'arm64' ? 'amd64' : 'arm64';
  const archLayer = (a) => ({ tar: buildTar([file('arch', `${a}\n`)]), createdBy: `ADD arch (${a}) # ncx mkimage` });
  const hostImg = makeImage([baseLayer(bb), archLayer(host)], ref, { arch: host });
  const foreignImg = makeImage([archLayer(foreign)], ref, { arch: foreign });
  const { tar, indexDigest } = ociIndexArchive([foreignImg, hostImg], ref);
  writeOut(opts.out, 'multiarch.oci.tar', tar, written);
  process.stderr.write(
    `mkimage: multiarch index sha256:${indexDigest}: ${foreign} sha256:${foreignImg.manifestDigest}, ${host} (host) sha256:${hostImg.manifestDigest}\n`,
  );
}

const MiB = 1024 * 1024;

/** Depth-first, byte-sorted walk of a host directory: regular files and symlinks, lazily. */
function* walkHost(root) {
  let names;
  try {
    names = fs.readdirSync(root);
  } catch {
    return; // missing or unreadable
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const n of names) {
    if (n.includes('\uFFFD')) continue; // not UTF-8: cannot round-trip the name
    const p = path.join(root, n);
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* walkHost(p);
    else if (st.isFile() || st.isSymbolicLink()) yield { path: p, st };
  }
}

/** Deterministic, text-like filler (compresses like logs) for hosts without enough files. */
function fillerText(seed, size) {
  const words = ['container', 'image', 'layer', 'manifest', 'digest', 'registry', 'blob', 'pull', 'push', 'index', 'config', 'rootfs', 'overlay', 'snapshot', 'namespace', 'mount', 'error', 'info', 'debug', 'warn'];
  let x = (seed * 2654435761) >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const parts = [];
  let len = 0;
  while (len < size) {
    const line = `${(rnd() % 100000).toString().padStart(5, '0')} ${Array.from({ length: 4 + (rnd() % 8) }, () => words[rnd() % words.length]).join(' ')} ${rnd().toString(16)}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('').slice(0, size));
}

// ≥ 5 layers of real host files (binaries, libraries, data) on the busybox base, ~32 MiB of file data each,
// gzip level 6: the pull benchmark's image. Deterministic for a given host (sorted walk).
function cmdBig(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'big:latest');
  const LAYERS = 5;
  const CAP = 32 * MiB;
  const MAX_FILE = 8 * MiB;
  const sources = ['/usr/bin', '/usr/lib', '/usr/share', '/usr/include', '/usr/libexec', '/usr/sbin', '/opt', '/usr/local'].map((root) => ({
    root,
    it: walkHost(root),
    done: false,
  }));
  const layers = [];
  const report = [];
  for (let k = 0; k < LAYERS; k++) {
    const entries = [];
    const dirs = new Set();
    const from = new Set();
    let size = 0;
    let files = 0;
    const addParents = (name) => {
      const segs = name.split('/');
      for (let i = 1; i < segs.length; i++) {
        const d = segs.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          entries.push(dir(d));
        }
      }
    };
    for (let s = 0; s < sources.length && size < CAP; s++) {
      const src = sources[(k + s) % sources.length];
      while (!src.done && size < CAP) {
        const next = src.it.next();
        if (next.done) {
          src.done = true;
          break;
        }
        const { path: p, st } = next.value;
        const name = p.slice(1);
        let entry;
        try {
          splitName(name); // skip what ustar cannot name
          if (st.isSymbolicLink()) {
            const target = fs.readlinkSync(p);
            if (Buffer.byteLength(target) > 100) continue;
            entry = symlink(name, target);
          } else {
            if (st.size > MAX_FILE) continue;
            entry = file(name, fs.readFileSync(p), st.mode & 0o111 ? 0o755 : 0o644);
          }
        } catch {
          continue; // unreadable, vanished, or a name ustar cannot hold
        }
        addParents(name);
        entries.push(entry);
        if (entry.type === 'file') {
          size += entry.data.length;
          files++;
        }
        from.add(src.root);
      }
    }
    if (size < CAP) {
      // the host ran out of files: top up with text so the image keeps its size
      const name = `var/lib/ncx-filler/${k}.txt`;
      addParents(name);
      entries.push(file(name, fillerText(k + 1, CAP - size)));
      size = CAP;
      files++;
      from.add('filler');
    }
    layers.push({ tar: buildTar(entries), createdBy: `COPY ${[...from].join(' ')} (${files} files) # ncx mkimage big` });
  }
  const img = makeImage([baseLayer(bb), ...layers], ref, { level: 6 });
  writeOut(opts.out, 'big.oci.tar', ociArchive(img), written);
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  img.built.forEach((l, i) => report.push(`  layer ${i}: ${mb(l.tar.length)} tar, ${mb(l.gz.length)} gzip  ${l.createdBy.replace(/ # ncx mkimage.*$/, '')}`));
  const total = img.built.reduce((a, l) => a + l.tar.length, 0);
  const totalGz = img.built.reduce((a, l) => a + l.gz.length, 0);
  process.stderr.write(`mkimage: big: ${img.built.length} layers, ${mb(total)} uncompressed, ${mb(totalGz)} gzip (level 6)\n${report.join('\n')}\n`);
}

// A dynamically linked host binary with the shared libraries ldd resolves (and the dynamic
// loader), at the paths the binary expects them.
function binaryWithLibs(bin, hint) {
  if (!fs.existsSync(bin)) fail(`${bin} not found: ${hint}`);
  let out;
  try {
    out = execFileSync('ldd', [bin], { encoding: 'utf8' });
  } catch (err) {
    fail(`ldd ${bin} failed: ${err.message}`);
  }
  const files = new Map([[bin.replace(/^\//, ''), fs.readFileSync(bin)]]);
  for (const line of out.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (!m) continue;
    if (/not found/.test(line)) fail(`ldd ${bin}: ${line.trim()}: ${hint}`);
    files.set(m[1].replace(/^\//, ''), fs.readFileSync(m[1]));
  }
  const dirs = new Set();
  for (const name of files.keys()) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return sortEntries([...[...dirs].map((d) => dir(d)), ...[...files].map(([name, data]) => file(name, data, 0o755))]);
}

function cmdIperf3(opts, written) {
  const bb = loadBusybox(opts.busybox);
  const ref = parseTag(opts.tag ?? 'iperf3:latest');
  const bin = opts.iperf3 ?? '/usr/bin/iperf3';
  const tar = buildTar(binaryWithLibs(bin, 'install the Debian package "iperf3" (apt-get install iperf3)'));
  const img = makeImage([baseLayer(bb), { tar, createdBy: `ADD ${bin} and its shared libraries # ncx mkimage` }], ref, {
    config: { Cmd: ['iperf3', '-s'], ExposedPorts: { '5201/tcp': {} } },
  });
  writeOut(opts.out, 'iperf3.oci.tar', ociArchive(img), written);
  writeOut(opts.out, 'iperf3.docker.tar', dockerArchive(img), written);
}

const USAGE = `usage: node scripts/mkimage.js <busybox|hostile|volume|multilayer|multiarch|big|iperf3> [--out DIR] [--tag NAME:TAG] [--canary-dir DIR] [--busybox PATH] [--iperf3 PATH]`;

function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', default: './images' },
        tag: { type: 'string' },
        'canary-dir': { type: 'string' },
        busybox: { type: 'string', default: '/bin/busybox' },
        iperf3: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${err.message}\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length !== 1) fail(USAGE, 2);
  const cmds = { busybox: cmdBusybox, hostile: cmdHostile, volume: cmdVolume, multilayer: cmdMultilayer, multiarch: cmdMultiarch, big: cmdBig, iperf3: cmdIperf3 };
  const cmd = cmds[positionals[0]];
  if (!cmd) fail(`unknown image kind "${positionals[0]}"\n${USAGE}`, 2);
  if (positionals[0] === 'hostile' && values.tag) fail('--tag is not supported for hostile images', 2);
  const written = [];
  try {
    cmd(values, written);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    fail(err.stack || String(err));
  }
  for (const p of written) process.stdout.write(`${p}\n`);
}

main(process.argv.slice(2));
