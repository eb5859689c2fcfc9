/**
 * Strict structural checks of the kubeadm ClusterConfiguration (v1beta3, v1beta4) and kind Cluster
 * (v1alpha4) documents the kit writes, field by field from the published Go types
 * (https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/,
 *  https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/,
 *  https://pkg.go.dev/sigs.k8s.io/kind/pkg/apis/config/v1alpha4). Unknown keys are rejected, as kubeadm's
 * strict decoding and kind's do. Fields the kit never writes are accepted with their JSON type only.
 */
type Check = (v: unknown, path: string) => void

const fail = (path: string, msg: string): never => {
  throw new Error(`${path}: ${msg}`)
}
const str: Check = (v, p) => void (typeof v !== 'string' && fail(p, 'must be a string'))
const bool: Check = (v, p) => void (typeof v !== 'boolean' && fail(p, 'must be a boolean'))
const anyObject: Check = (v, p) =>
  void ((typeof v !== 'object' || v === null || Array.isArray(v)) && fail(p, 'must be an object'))
const list =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, 'must be a list')
    ;(v as unknown[]).forEach((x, i) => item(x, `${p}[${i}]`))
  }
const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    void (!values.includes(v as string) && fail(p, `must be one of ${values.join(', ')}`))
const mapOf =
  (item: Check): Check =>
  (v, p) => {
    anyObject(v, p)
    for (const [k, x] of Object.entries(v as object)) item(x, `${p}.${k}`)
  }
const struct =
  (fields: Record<string, Check>, required: string[] = []): Check =>
  (v, p) => {
    anyObject(v, p)
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) {
      const check = fields[k]
      if (check === undefined) fail(`${p}.${k}`, 'unknown field')
      else check(o[k], `${p}.${k}`)
    }
    for (const r of required) if (!(r in o)) fail(`${p}.${r}`, 'is required')
  }

const hostPathMount = struct(
  {
    name: str,
    hostPath: str,
    mountPath: str,
    readOnly: bool,
    pathType: oneOf(
      '',
      'DirectoryOrCreate',
      'Directory',
      'FileOrCreate',
      'File',
      'Socket',
      'CharDevice',
      'BlockDevice',
    ),
  },
  ['name', 'hostPath', 'mountPath'],
)
const argV1beta4 = struct({ name: str, value: str }, ['name', 'value'])

function controlPlaneComponent(version: 'v1beta3' | 'v1beta4', apiServer: boolean): Check {
  const common: Record<string, Check> = {
    extraArgs: version === 'v1beta3' ? mapOf(str) : list(argV1beta4),
    extraVolumes: list(hostPathMount),
    ...(version === 'v1beta4' ? { extraEnvs: list(anyObject) } : {}),
  }
  if (!apiServer) return struct(common)
  return struct({
    ...common,
    certSANs: list(str),
    ...(version === 'v1beta3' ? { timeoutForControlPlane: str } : {}),
  })
}

export function checkKubeadmClusterConfiguration(
  doc: unknown,
  version: 'v1beta3' | 'v1beta4',
): void {
  struct(
    {
      apiVersion: oneOf(`kubeadm.k8s.io/${version}`),
      kind: oneOf('ClusterConfiguration'),
      etcd: anyObject,
      networking: anyObject,
      kubernetesVersion: str,
      controlPlaneEndpoint: str,
      apiServer: controlPlaneComponent(version, true),
      controllerManager: controlPlaneComponent(version, false),
      scheduler: controlPlaneComponent(version, false),
      dns: anyObject,
      certificatesDir: str,
      imageRepository: str,
      featureGates: mapOf(bool),
      clusterName: str,
      ...(version === 'v1beta4'
        ? {
            proxy: anyObject,
            encryptionAlgorithm: oneOf(
              'RSA-2048',
              'RSA-3072',
              'RSA-4096',
              'ECDSA-P256',
              'ECDSA-P384',
            ),
            certificateValidityPeriod: str,
            caCertificateValidityPeriod: str,
          }
        : {}),
    },
    ['apiVersion', 'kind'],
  )(doc, '$')
}

const kindMount = struct(
  {
    containerPath: str,
    hostPath: str,
    readOnly: bool,
    selinuxRelabel: bool,
    propagation: oneOf('None', 'HostToContainer', 'Bidirectional'),
  },
  ['containerPath', 'hostPath'],
)
const kindNode = struct(
  {
    role: oneOf('control-plane', 'worker'),
    image: str,
    labels: mapOf(str),
    extraMounts: list(kindMount),
    extraPortMappings: list(anyObject),
    kubeadmConfigPatches: list(str),
    kubeadmConfigPatchesJSON6902: list(anyObject),
  },
  ['role'],
)

export function checkKindCluster(doc: unknown): void {
  struct(
    {
      kind: oneOf('Cluster'),
      apiVersion: oneOf('kind.x-k8s.io/v1alpha4'),
      name: str,
      featureGates: mapOf(bool),
      runtimeConfig: mapOf(str),
      networking: anyObject,
      nodes: list(kindNode),
      kubeadmConfigPatches: list(str),
      kubeadmConfigPatchesJSON6902: list(anyObject),
      containerdConfigPatches: list(str),
      containerdConfigPatchesJSON6902: list(str),
    },
    ['kind', 'apiVersion'],
  )(doc, '$')
}
