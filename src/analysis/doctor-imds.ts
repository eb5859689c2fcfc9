/**
 * @module analysis/doctor-imds
 * Doctor's `node-imds` link: can the pod obtain node-role credentials through the instance metadata service
 * (the same answer as scan's NODE-001, from analysis/imds), and would its AWS SDK use them before or after the
 * identity it is meant to have? The SDKs' default chain is environment keys → web identity (IRSA) → container
 * credentials (Pod Identity) → IMDS (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html),
 * resolved per container by analysis/credentials exactly as scan does.
 */
import type { Pod } from '../mutation/types.ts'
import { resolveContainerCredentials, type ContainerCredentials } from './credentials.ts'
import {
  denyImdsNetworkPolicy,
  describeNode,
  IMDS_CIDR,
  imdsExposure,
  nodeRoleLabel,
  type ImdsExposure,
} from './imds.ts'
import { buildKubeInventory } from './inputs/kube.ts'
import type { NetworkPolicyInfo, NodeInfo, PodSpecInfo } from './model.ts'

/** What is known of the nodes the pod may run on. */
export interface NodeFacts {
  /** Their metadata settings (`aws ec2 describe-instances`, or podtrust's own endpoint). */
  nodes: NodeInfo[]
  /** NetworkPolicies (of any namespace; those of the pod's apply). */
  networkPolicies: NetworkPolicyInfo[]
}

export type IntendedIdentity = 'irsa' | 'pod-identity' | 'azure' | 'gcp' | 'none'

export interface ImdsLink {
  name: 'node-imds'
  ok: boolean
  /** The chain holds, but the pod can still obtain the node role: reported, not a broken link. */
  warning?: true
  reason: string
  fix?: string
}

const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof v === 'object' && v !== null)
    for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val
  return out
}

/**
 * The pod as scan reads it (analysis/inputs/kube), from the doctor's pod manifest — or a one-container pod of
 * the ServiceAccount when none is given. `live`: a created pod shows its mutation; a template will be mutated.
 */
export function podSpecOf(
  pod: Pod | undefined,
  namespace: string,
  serviceAccount: string,
  live: boolean,
): PodSpecInfo {
  const raw = (pod ?? {
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'app' }] },
  }) as Record<string, unknown>
  const meta = (raw.metadata ?? {}) as { name?: unknown; annotations?: unknown; labels?: unknown }
  const spec = (raw.spec ?? {}) as Record<string, unknown>
  const [parsed] = buildKubeInventory([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: typeof meta.name === 'string' ? meta.name : 'pod',
        namespace,
        annotations: stringMap(meta.annotations),
        labels: stringMap(meta.labels),
      },
      raw: { ...raw, spec: { serviceAccountName: serviceAccount, ...spec } },
      source: 'pod manifest',
    },
  ]).pods
  return { ...parsed!, live }
}

function sdkSources(pod: PodSpecInfo, intended: IntendedIdentity): ContainerCredentials[] {
  const facts = {
    irsaAnnotated: intended === 'irsa',
    podIdentityAssociated: intended === 'pod-identity',
    imdsReachable: true,
  }
  return pod.containers
    .filter((c) => !c.init)
    .map((c) => resolveContainerCredentials(pod, c, [], facts))
}

function roles(exposure: ImdsExposure): string {
  const names = [...new Set(exposure.exposing.map(nodeRoleLabel))]
  return names.join(', ')
}

function via(exposure: ImdsExposure, pod: PodSpecInfo): string {
  return `${exposure.exposing.map(describeNode).slice(0, 3).join('; ')}${pod.hostNetwork ? '; the pod uses hostNetwork' : ''}`
}

function fixFor(exposure: ImdsExposure, pod: PodSpecInfo): string {
  const fixes: string[] = []
  if (pod.hostNetwork)
    fixes.push('remove hostNetwork: true (NetworkPolicies and the hop limit do not apply to it)')
  const ec2 = exposure.exposing.filter((n) => n.roleArn === undefined)
  for (const n of ec2.slice(0, 3))
    fixes.push(
      `aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 1 --http-tokens required --instance-id ${/^i-[0-9a-f]+$/.test(n.name) ? n.name : 'INSTANCE_ID'}`,
    )
  if (ec2.length < exposure.exposing.length)
    fixes.push(
      `podtrust's metadata endpoint has no hop limit: bind it where only host-network processes reach it (--imds-host)`,
    )
  if (!pod.hostNetwork)
    fixes.push(`or deny egress to ${IMDS_CIDR}: ${denyImdsNetworkPolicy(pod.namespace)}`)
  return fixes.join('\n  ')
}

/** Why IMDS does not answer the pod. */
function unreachable(exposure: ImdsExposure, facts: NodeFacts, pod: PodSpecInfo): string {
  if (exposure.blockedBy.length > 0)
    return `IMDS would answer (${via(exposure, pod)}), but NetworkPolicy ${exposure.blockedBy.map((p) => `${p.namespace}/${p.name}`).join(', ')} restricts the pod's egress and none admits ${IMDS_CIDR}`
  if (facts.nodes.length === 0) return 'no node was given (the nodes file lists none)'
  const why = (n: NodeInfo) =>
    n.httpEndpoint === 'disabled'
      ? `${n.name}: the metadata endpoint is disabled`
      : `${describeNode(n)}: IMDSv2 only, and the token PUT's answer does not travel the extra hop to a pod off the host network`
  return `IMDS does not answer this pod with node-role credentials (${facts.nodes.map(why).slice(0, 3).join('; ')})`
}

/**
 * The `node-imds` link: broken when a container's SDK finds nothing before IMDS (it signs as the node role);
 * a warning when the intended identity comes first but the node role is still one request away.
 */
export function nodeImdsLink(
  pod: PodSpecInfo,
  facts: NodeFacts,
  intended: IntendedIdentity,
): ImdsLink {
  const exposure = imdsExposure(pod, facts.nodes, facts.networkPolicies)
  if (!exposure.reachable)
    return { name: 'node-imds', ok: true, reason: unreachable(exposure, facts, pod) }
  const role = roles(exposure)
  const fix = fixFor(exposure, pod)
  if (intended === 'azure' || intended === 'gcp')
    return {
      name: 'node-imds',
      ok: true,
      warning: true,
      reason: `the pod can also obtain AWS credentials of the node role ${role} through IMDS (${via(exposure, pod)}); an AWS SDK in it finds them with no configuration`,
      fix,
    }
  const fallsThrough = sdkSources(pod, intended).filter(
    (c) => c.python === 'node-imds' || c.javascript === 'node-imds',
  )
  if (fallsThrough.length > 0)
    return {
      name: 'node-imds',
      ok: false,
      reason: `container${fallsThrough.length > 1 ? 's' : ''} ${fallsThrough.map((c) => c.container).join(', ')}: nothing earlier in the SDK credential chain (environment keys → web identity → container credentials → IMDS) is configured, so the SDK signs as the node role ${role} from IMDS (${via(exposure, pod)}), not as the intended identity`,
      fix: `${intended === 'irsa' ? 'make sure the webhook injects AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE into every container (recreate the pod; check eks.amazonaws.com/skip-containers)' : intended === 'pod-identity' ? 'make sure the webhook injects AWS_CONTAINER_CREDENTIALS_FULL_URI into every container (recreate the pod)' : 'give the ServiceAccount an identity (IRSA annotation or Pod Identity association)'}; and keep the pod off IMDS:\n  ${fix}`,
    }
  const first = intended === 'irsa' ? 'web identity (IRSA)' : 'container credentials (Pod Identity)'
  return {
    name: 'node-imds',
    ok: true,
    warning: true,
    reason: `the pod can reach IMDS and obtain the node role ${role} (${via(exposure, pod)}). Its SDK uses ${first} first — IMDS comes last in the chain — so it signs as the intended role, but any process in the pod can fetch the node role's credentials from 169.254.169.254, and a pod that misses the injected variables falls through to them`,
    fix,
  }
}

/** For a broken mapping or injection: what the SDK signs with instead, when IMDS answers the pod. */
export function imdsFallbackNote(pod: PodSpecInfo, facts: NodeFacts | undefined): string {
  if (facts === undefined) return ''
  const exposure = imdsExposure(pod, facts.nodes, facts.networkPolicies)
  if (!exposure.reachable) return ''
  const fallsThrough = sdkSources(pod, 'none').some(
    (c) => c.python === 'node-imds' || c.javascript === 'node-imds',
  )
  return fallsThrough
    ? `; meanwhile its SDK falls through to IMDS and signs as the node role ${roles(exposure)} (${via(exposure, pod)})`
    : ''
}
