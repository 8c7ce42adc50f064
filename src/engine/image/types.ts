/** OCI / Docker media types ncx understands. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const

export const LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.dockerLayer,
  MediaType.dockerLayerGzip,
]

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: {architecture: string; os: string; variant?: string}
}

export interface Manifest {
  schemaVersion: number
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface Index {
  schemaVersion: number
  mediaType?: string
  manifests: Descriptor[]
}

/** The parts of an image config (OCI image-spec "config") that ncx uses. */
export interface ImageConfig {
  architecture?: string
  os?: string
  created?: string
  author?: string
  config?: {
    User?: string
    Env?: string[] | null
    Entrypoint?: string[] | null
    Cmd?: string[] | null
    WorkingDir?: string
    Labels?: Record<string, string> | null
    ExposedPorts?: Record<string, object> | null
    Volumes?: Record<string, object> | null
    StopSignal?: string
  }
  rootfs: {type: string; diff_ids: string[]}
  history?: Array<{created?: string; created_by?: string; empty_layer?: boolean; comment?: string}>
}

/** One layer of a stored image: the blob and what it unpacks to. */
export interface LayerRecord {
  digest: string
  diffId: string
  size: number
  mediaType: string
}

/** An image in the store, as recorded in images.json. */
export interface ImageRecord {
  /** The config digest, which Docker calls the image ID. */
  id: string
  manifestDigest: string
  /** Fully qualified references: `docker.io/library/busybox:latest`. */
  names: string[]
  layers: LayerRecord[]
  created?: string
  /** Uncompressed size of all layers. */
  size: number
  addedAt: string
  /**
   * The registry digests it is known by (`docker.io/library/busybox@sha256:…`): set by pull;
   * empty for a loaded image (Docker's `<none>`). Absent in records written before it existed,
   * which show the manifest digest.
   */
  repoDigests?: string[]
}
