/**
 * @module setup/render
 * Every non-secret file of a self-hosted cluster's output folder, rendered from its record: the public key
 * file, the discovery bundle, the kube-apiserver flags in the distribution's own form. Pure: the CLI writes
 * (or, with --dry-run, prints) what this returns.
 */
import { stringify } from 'yaml'
import { discoveryBundle } from './discovery.ts'
import {
  type FlagInput,
  PUBLIC_KEYS_FILE,
  apiServerFlags,
  commandLine,
  k3sCommandLine,
  keyPaths,
  kindCluster,
  kubeadmV1beta3,
  kubeadmV1beta4,
  rancherConfig,
} from './flags.ts'
import { type SetupCluster, publishedJwks } from './store.ts'

export interface OutputFile {
  /** Relative to the output folder, `/`-separated. */
  path: string
  content: string
  /** 0o600 for private keys, 0o644 for everything else. */
  mode: number
}

export const KEYS_DIR = 'keys'
export const DISCOVERY_DIR = 'discovery'
export const SIGNING_KEY_PATH = `${KEYS_DIR}/sa.key`
export const NEXT_KEY_PATH = `${KEYS_DIR}/sa-next.key`

export function flagInputOf(c: SetupCluster): FlagInput {
  return {
    issuerUrl: c.issuerUrl,
    previousIssuers: c.state.previousIssuers,
    audiences: c.state.audiences,
    keyDir: keyPaths(c.distro).apiServerDir,
    maxTokenLifetimeSeconds: c.state.maxTokenLifetimeSeconds,
  }
}

const yaml = (doc: unknown) => stringify(doc, { lineWidth: 0 })

/** The distribution's configuration files (relative paths), for `absoluteOutDir` where kind mounts keys. */
export function distroFiles(c: SetupCluster, absoluteOutDir: string): OutputFile[] {
  const input = flagInputOf(c)
  const file = (path: string, content: string): OutputFile => ({ path, content, mode: 0o644 })
  const flagsTxt = file(
    'kube-apiserver-flags.txt',
    `${commandLine(apiServerFlags(input)).join('\n')}\n`,
  )
  switch (c.distro) {
    case 'kubeadm':
      return [
        file('kubeadm-config.yaml', yaml(kubeadmV1beta4(input))),
        file('kubeadm-config.v1beta3.yaml', yaml(kubeadmV1beta3(input))),
        flagsTxt,
      ]
    case 'kind':
      return [
        file('kind-config.yaml', yaml(kindCluster(input, `${absoluteOutDir}/${KEYS_DIR}`))),
        flagsTxt,
      ]
    case 'k3s':
      return [
        file('k3s-config.yaml', yaml(rancherConfig('k3s', input))),
        file('k3s-args.txt', `${k3sCommandLine(input).join('\n')}\n`),
        flagsTxt,
      ]
    case 'rke2':
      return [file('rke2-config.yaml', yaml(rancherConfig('rke2', input))), flagsTxt]
  }
}

/** The public keys the API server verifies with (one PEM file may hold several), current first. */
export function publicKeysFile(c: SetupCluster): OutputFile {
  const order = { current: 0, next: 1, previous: 2 } as const
  const pems = [...c.state.keys]
    .sort((a, b) => order[a.role] - order[b.role])
    .map((k) => k.publicPem.trim())
  return { path: `${KEYS_DIR}/${PUBLIC_KEYS_FILE}`, content: `${pems.join('\n')}\n`, mode: 0o644 }
}

export function discoveryFiles(c: SetupCluster): OutputFile[] {
  return discoveryBundle(c.issuerUrl, publishedJwks(c.state)).map((f) => ({
    path: `${DISCOVERY_DIR}/${f.path}`,
    content: f.body,
    mode: 0o644,
  }))
}

export function renderClusterFiles(c: SetupCluster, absoluteOutDir: string): OutputFile[] {
  return [publicKeysFile(c), ...discoveryFiles(c), ...distroFiles(c, absoluteOutDir)]
}
