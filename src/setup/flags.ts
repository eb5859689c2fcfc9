/**
 * @module setup/flags
 * The kube-apiserver (and kube-controller-manager) flags a self-hosted issuer needs, in each distribution's
 * own form. Flag semantics (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/):
 * `--service-account-issuer` is a string array (repeat it: the first signs, all are accepted, so the
 * cluster's previous issuer keeps old tokens valid); `--service-account-key-file` a string array (one file
 * may hold several PEM public keys: rotation edits the file, not the flags); `--api-audiences` a comma list;
 * `--service-account-signing-key-file` and `--service-account-jwks-uri` single strings.
 *
 * Token lifetime: kube-apiserver by default stretches kubelet's projected tokens to one year
 * (`--service-account-extend-token-expiration`), which would make key retirement wait a year; the kit caps
 * lifetimes with `--service-account-max-token-expiration` and turns the extension off, so rotation's wait is
 * the configured maximum.
 */
import { stringify } from 'yaml'
import { jwksUriOf } from './discovery.ts'

export type Distro = 'kubeadm' | 'k3s' | 'kind' | 'rke2'
export const DISTROS: readonly Distro[] = ['kubeadm', 'k3s', 'kind', 'rke2']

/** The issuer every kubeadm, kind, k3s and RKE2 cluster starts with: kept as a second issuer. */
export const DEFAULT_IN_CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'

export interface Flag {
  name: string
  value: string
}

export interface FlagInput {
  issuerUrl: string
  /** Issuers still accepted (not signing), e.g. the cluster's previous one. */
  previousIssuers: readonly string[]
  audiences: readonly string[]
  /** Where the API server reads the keys (inside its container for static-pod distros). */
  keyDir: string
  maxTokenLifetimeSeconds: number
}

export const SIGNING_KEY_FILE = 'sa.key'
export const PUBLIC_KEYS_FILE = 'sa.pub'

export function apiServerFlags(input: FlagInput): Flag[] {
  const flags: Flag[] = [{ name: 'service-account-issuer', value: input.issuerUrl }]
  for (const prev of input.previousIssuers) {
    if (prev !== input.issuerUrl) flags.push({ name: 'service-account-issuer', value: prev })
  }
  flags.push(
    { name: 'service-account-key-file', value: `${input.keyDir}/${PUBLIC_KEYS_FILE}` },
    { name: 'service-account-signing-key-file', value: `${input.keyDir}/${SIGNING_KEY_FILE}` },
    { name: 'api-audiences', value: input.audiences.join(',') },
    { name: 'service-account-jwks-uri', value: jwksUriOf(input.issuerUrl) },
    { name: 'service-account-max-token-expiration', value: `${input.maxTokenLifetimeSeconds}s` },
    { name: 'service-account-extend-token-expiration', value: 'false' },
  )
  return flags
}

/** kube-controller-manager signs the legacy Secret tokens: with the same key, or they stop verifying. */
export function controllerManagerFlags(keyDir: string): Flag[] {
  return [{ name: 'service-account-private-key-file', value: `${keyDir}/${SIGNING_KEY_FILE}` }]
}

/** `--name=value`, the form pflag parses unambiguously (a value may start with `-`). */
export function commandLine(flags: readonly Flag[]): string[] {
  return flags.map((f) => `--${f.name}=${f.value}`)
}

/** Where each distribution's API server reads the key files, and the host folder they live in. */
export function keyPaths(distro: Distro): { hostDir: string; apiServerDir: string } {
  switch (distro) {
    case 'k3s':
      // k3s runs the API server in its own process: host paths, no mounts.
      return {
        hostDir: '/var/lib/rancher/k3s/server/tls/podtrust',
        apiServerDir: '/var/lib/rancher/k3s/server/tls/podtrust',
      }
    case 'rke2':
      return { hostDir: '/etc/podtrust/keys', apiServerDir: '/etc/podtrust/keys' }
    case 'kubeadm':
    case 'kind':
      return { hostDir: '/etc/podtrust/keys', apiServerDir: '/etc/podtrust/keys' }
  }
}

const VOLUME_NAME = 'podtrust-sa-keys'

/** A flag list as kubeadm v1beta3's `extraArgs` map: one value per name (the first wins, in order). */
function extraArgsMap(flags: readonly Flag[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of flags) if (!(f.name in out)) out[f.name] = f.value
  return out
}

function keyVolume(dir: string): Record<string, unknown> {
  return { name: VOLUME_NAME, hostPath: dir, mountPath: dir, readOnly: true, pathType: 'Directory' }
}

/**
 * kubeadm ClusterConfiguration patch, v1beta4 (Kubernetes 1.31+): `extraArgs` is a list of name/value pairs,
 * so repeated flags survive (https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/).
 */
export function kubeadmV1beta4(input: FlagInput): Record<string, unknown> {
  return {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'ClusterConfiguration',
    apiServer: {
      extraArgs: apiServerFlags(input),
      extraVolumes: [keyVolume(input.keyDir)],
    },
    controllerManager: {
      extraArgs: controllerManagerFlags(input.keyDir),
      extraVolumes: [keyVolume(input.keyDir)],
    },
  }
}

/**
 * kubeadm v1beta3 (Kubernetes 1.22–1.30): `extraArgs` is a map, one value per flag, so only the signing
 * issuer is set (https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/).
 */
export function kubeadmV1beta3(input: FlagInput): Record<string, unknown> {
  return {
    apiVersion: 'kubeadm.k8s.io/v1beta3',
    kind: 'ClusterConfiguration',
    apiServer: {
      extraArgs: extraArgsMap(apiServerFlags(input)),
      extraVolumes: [keyVolume(input.keyDir)],
    },
    controllerManager: {
      extraArgs: extraArgsMap(controllerManagerFlags(input.keyDir)),
      extraVolumes: [keyVolume(input.keyDir)],
    },
  }
}

/**
 * A kind Cluster (https://kind.sigs.k8s.io/docs/user/configuration/): the key folder mounted into the
 * control-plane node (`extraMounts`), the kubeadm patch mounting it into the API server. kind generates
 * kubeadm v1beta3 for the node images it supports, so the patch uses that form.
 */
export function kindCluster(input: FlagInput, hostKeyDir: string): Record<string, unknown> {
  const patch = stringify(kubeadmV1beta3(input), { lineWidth: 0 })
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [
      {
        role: 'control-plane',
        extraMounts: [{ hostPath: hostKeyDir, containerPath: input.keyDir, readOnly: true }],
      },
    ],
    kubeadmConfigPatches: [patch],
  }
}

/** k3s / RKE2 `config.yaml` keys (https://docs.k3s.io/cli/server, https://docs.rke2.io/reference/server_config). */
export function rancherConfig(distro: 'k3s' | 'rke2', input: FlagInput): Record<string, unknown> {
  const arg = (f: Flag) => `${f.name}=${f.value}`
  return {
    'kube-apiserver-arg': apiServerFlags(input).map(arg),
    'kube-controller-manager-arg': controllerManagerFlags(input.keyDir).map(arg),
    ...(distro === 'rke2'
      ? {
          'kube-apiserver-extra-mount': [`${input.keyDir}:${input.keyDir}:ro`],
          'kube-controller-manager-extra-mount': [`${input.keyDir}:${input.keyDir}:ro`],
        }
      : {}),
  }
}

/** k3s on the command line: one `--kube-apiserver-arg` per flag. */
export function k3sCommandLine(input: FlagInput): string[] {
  return [
    ...apiServerFlags(input).map((f) => `--kube-apiserver-arg=${f.name}=${f.value}`),
    ...controllerManagerFlags(input.keyDir).map(
      (f) => `--kube-controller-manager-arg=${f.name}=${f.value}`,
    ),
  ]
}
