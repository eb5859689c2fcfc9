/**
 * @module setup/setup
 * `cluster setup`: from a name, a distribution and an issuer URL to the record and the whole output folder —
 * the key pair (created or imported), the flags in the distribution's form, the discovery bundle, the
 * thumbprint and the cloud-side commands. Pure apart from key generation; the CLI writes and registers.
 */
import { isLoopbackHost } from '../tokens/netguard.ts'
import { SetupError } from './errors.ts'
import { type Cloud, cloudCommands } from './cloud.ts'
import { DEFAULT_IN_CLUSTER_ISSUER, type Distro, keyPaths } from './flags.ts'
import {
  type ServiceAccountKeyAlg,
  type ServiceAccountKeyPair,
  generateServiceAccountKey,
  importServiceAccountKey,
} from './keys.ts'
import { type OutputFile, SIGNING_KEY_PATH, renderClusterFiles } from './render.ts'
import type { SetupCluster } from './store.ts'
import { thumbprintCommands, thumbprintOfChain } from './thumbprint.ts'

/** Default longest token lifetime (24 h): kube-apiserver's cap, and rotation's wait before retiring a key. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400

export interface SetupInput {
  name: string
  distro: Distro
  issuerUrl: string
  /** Absolute output folder. */
  outDir: string
  /** A private key PEM to import instead of creating one. */
  importKeyPem?: string
  alg?: ServiceAccountKeyAlg
  clouds: readonly Cloud[]
  /** The PEM chain the jwks_uri host serves, for the thumbprint. */
  caChainPem?: string
  audiences?: readonly string[]
  maxTokenLifetimeSeconds?: number
  now: Date
}

export interface SetupResult {
  cluster: SetupCluster
  key: ServiceAccountKeyPair
  files: OutputFile[]
  thumbprint: string | undefined
  /** What to run next, in order, as printed. */
  instructions: string[]
}

export function planSetup(input: SetupInput): SetupResult {
  const issuer = new URL(input.issuerUrl)
  // Plain http only for an issuer on this machine (development), as podtrust's own issuers allow.
  if (
    issuer.protocol !== 'https:' &&
    !(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname))
  ) {
    throw new SetupError('SETUP_INVALID', `--issuer-url ${input.issuerUrl} must use https`, {
      hint: 'AWS IAM, Entra ID and Google STS fetch discovery over https only',
    })
  }
  const key =
    input.importKeyPem === undefined
      ? generateServiceAccountKey(input.alg ?? 'RS256')
      : importServiceAccountKey(input.importKeyPem)
  const previousIssuers =
    input.issuerUrl === DEFAULT_IN_CLUSTER_ISSUER ? [] : [DEFAULT_IN_CLUSTER_ISSUER]
  const cluster: SetupCluster = {
    name: input.name,
    issuerUrl: input.issuerUrl,
    distro: input.distro,
    outDir: input.outDir,
    publishedTo: undefined,
    state: {
      keys: [
        {
          role: 'current',
          jwk: key.jwk,
          publicPem: key.publicPem,
          addedAt: input.now.toISOString(),
        },
      ],
      phase: 'steady',
      audiences: [...(input.audiences ?? [DEFAULT_IN_CLUSTER_ISSUER, input.issuerUrl])].filter(
        (a, i, all) => all.indexOf(a) === i,
      ),
      previousIssuers,
      maxTokenLifetimeSeconds: input.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    },
  }
  const files: OutputFile[] = [
    { path: SIGNING_KEY_PATH, content: key.privatePem, mode: 0o600 },
    ...renderClusterFiles(cluster, input.outDir),
  ]
  const thumbprint =
    input.caChainPem === undefined ? undefined : thumbprintOfChain(input.caChainPem)
  const instructions = setupInstructions(cluster, thumbprint, input.clouds)
  return { cluster, key, files, thumbprint, instructions }
}

function distroSteps(c: SetupCluster): string[] {
  const { hostDir } = keyPaths(c.distro)
  const copyKeys = [
    `sudo install -d -m 0700 ${hostDir}`,
    `sudo install -m 0600 ${c.outDir}/keys/sa.key ${hostDir}/sa.key`,
    `sudo install -m 0644 ${c.outDir}/keys/sa.pub ${hostDir}/sa.pub`,
  ]
  switch (c.distro) {
    case 'kubeadm':
      return [
        '# on every control-plane node:',
        ...copyKeys,
        `# new cluster: merge ${c.outDir}/kubeadm-config.yaml into your kubeadm config, then kubeadm init --config …`,
        '# existing cluster: add the apiServer/controllerManager extraArgs and extraVolumes to the kubeadm-config',
        '#   ConfigMap (kubectl -n kube-system edit cm kubeadm-config), then on each control-plane node:',
        '#   kubeadm init phase control-plane apiserver --config … && kubeadm init phase control-plane controller-manager --config …',
        `# (Kubernetes before 1.31: use ${c.outDir}/kubeadm-config.v1beta3.yaml)`,
      ]
    case 'kind':
      return [`kind create cluster --name ${c.name} --config ${c.outDir}/kind-config.yaml`]
    case 'k3s':
      return [
        '# on every server node:',
        ...copyKeys,
        `# merge ${c.outDir}/k3s-config.yaml into /etc/rancher/k3s/config.yaml (or pass the lines of k3s-args.txt),`,
        'sudo systemctl restart k3s',
      ]
    case 'rke2':
      return [
        '# on every server node:',
        ...copyKeys,
        `# merge ${c.outDir}/rke2-config.yaml into /etc/rancher/rke2/config.yaml, then:`,
        'sudo systemctl restart rke2-server',
      ]
  }
}

/**
 * Where `issuer publish` should write for this issuer URL: the bucket and prefix of an S3-hosted issuer
 * (virtual-hosted `BUCKET.s3.REGION.amazonaws.com/PREFIX` or path-style `s3.REGION.amazonaws.com/BUCKET/PREFIX`),
 * else a folder the web host serves at the URL's path.
 */
export function publishTargetFor(issuerUrl: string): string {
  const u = new URL(issuerUrl)
  const path = u.pathname.replace(/^\/+|\/+$/g, '')
  const virtual = /^([a-z0-9][a-z0-9.-]+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/.exec(u.hostname)
  if (virtual?.[1] !== undefined) return `s3://${virtual[1]}${path === '' ? '' : `/${path}`}`
  if (/^s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/.test(u.hostname) && path !== '')
    return `s3://${path}`
  return `WEB_ROOT${path === '' ? '' : `/${path}`}`
}

export function setupInstructions(
  c: SetupCluster,
  thumbprint: string | undefined,
  clouds: readonly Cloud[],
): string[] {
  const host = new URL(c.issuerUrl).host
  return [
    `# 1. kube-apiserver (${c.distro})`,
    ...distroSteps(c),
    '# 2. publish the discovery bundle at the issuer URL (a static https host or an S3 bucket)',
    `podtrust issuer publish --cluster ${c.name} --to ${publishTargetFor(c.issuerUrl)}`,
    '# 3. check a real token against what is published',
    `kubectl create token default --audience sts.amazonaws.com > token.jwt && podtrust cluster verify ${c.name} --token token.jwt`,
    '# 4. thumbprint of the issuer host (AWS uses it only when the host CA is not one it trusts)',
    ...(thumbprint === undefined ? thumbprintCommands(host) : [`# thumbprint: ${thumbprint}`]),
    ...(clouds.length === 0 ? [] : ['# 5. trust the issuer in the cloud']),
    ...clouds.flatMap((cloud) =>
      cloudCommands(cloud, { clusterName: c.name, issuerUrl: c.issuerUrl, thumbprint }),
    ),
  ]
}
