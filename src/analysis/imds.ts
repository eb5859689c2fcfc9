/**
 * @module analysis/imds
 * Whether a pod can obtain node-role credentials through the instance metadata service — scan's NODE-001 and
 * doctor's `node-imds` link read the same answer:
 * - IMDSv1 allowed (`HttpTokens=optional`): GETs need no token and no hop limit applies, so every pod reaches it;
 * - IMDSv2 required: the token PUT's answer travels `HttpPutResponseHopLimit` hops, so a pod behind the node's
 *   bridge (one more hop) needs a limit ≥ 2, a host-network pod any limit
 *   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html; EKS best
 *   practices, "Restrict access to the instance profile assigned to the worker node");
 * - `HttpEndpoint=disabled`: nobody;
 * - a NetworkPolicy selecting the pod restricts egress and none of them admits 169.254.169.254: blocked, except
 *   for host-network pods, which NetworkPolicies do not govern.
 */
import type { LabelSelectorRequirement, NetworkPolicyInfo, NodeInfo, PodSpecInfo } from './model.ts'

/** The address of the metadata service, as a NetworkPolicy `ipBlock` names it. */
export const IMDS_CIDR = '169.254.169.254/32'

/** The remediation both tools print: IMDSv2 with hop limit 1, or an egress policy keeping pods off IMDS. */
export const IMDS_REMEDIATION = `aws ec2 modify-instance-metadata-options --http-tokens required --http-put-response-hop-limit 1 --instance-id INSTANCE_ID (or a NetworkPolicy denying egress to ${IMDS_CIDR})`

/**
 * Kubernetes label-selector semantics: every `matchLabels` pair and every requirement must hold (In,
 * NotIn, Exists, DoesNotExist; NotIn and DoesNotExist hold for a pod without the key). An operator
 * Kubernetes does not know selects nothing, so no unknown rule is taken as a block.
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
 */
export function labelSelectorMatches(
  matchLabels: Readonly<Record<string, string>>,
  matchExpressions: readonly LabelSelectorRequirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  // Own keys only: a label named `constructor` is a valid key, not Object.prototype's.
  const labelOf = (key: string): string | undefined =>
    Object.hasOwn(labels, key) ? labels[key] : undefined
  if (!Object.entries(matchLabels).every(([k, v]) => labelOf(k) === v)) return false
  return matchExpressions.every((e) => {
    const value = labelOf(e.key)
    switch (e.operator) {
      case 'In':
        return value !== undefined && e.values.includes(value)
      case 'NotIn':
        return value === undefined || !e.values.includes(value)
      case 'Exists':
        return value !== undefined
      case 'DoesNotExist':
        return value === undefined
      default:
        return false
    }
  })
}

export function nodeExposesImds(node: NodeInfo, pod: PodSpecInfo): boolean {
  if (node.httpEndpoint === 'disabled') return false
  if (node.httpTokens === 'optional') return true
  return pod.hostNetwork || node.hopLimit >= 2
}

/** The NetworkPolicies that keep the pod off IMDS (empty: not blocked). */
export function imdsBlockingPolicies(
  pod: PodSpecInfo,
  policies: readonly NetworkPolicyInfo[],
): NetworkPolicyInfo[] {
  if (pod.hostNetwork) return [] // host-network pods bypass NetworkPolicies.
  const selecting = policies.filter(
    (p) =>
      p.namespace === pod.namespace &&
      p.egressRestricted &&
      (p.selectsAll || labelSelectorMatches(p.matchLabels, p.matchExpressions, pod.labels)),
  )
  // Egress is denied unless some selecting policy allows it: blocked when none admits the IMDS address.
  return selecting.some((p) => p.allowsImds) ? [] : selecting
}

export interface ImdsExposure {
  reachable: boolean
  /** The nodes whose metadata service answers this pod (before NetworkPolicies). */
  exposing: NodeInfo[]
  /** The NetworkPolicies that block it anyway. */
  blockedBy: NetworkPolicyInfo[]
}

export function imdsExposure(
  pod: PodSpecInfo,
  nodes: readonly NodeInfo[],
  policies: readonly NetworkPolicyInfo[],
): ImdsExposure {
  const exposing = nodes.filter((n) => nodeExposesImds(n, pod))
  const blockedBy = exposing.length === 0 ? [] : imdsBlockingPolicies(pod, policies)
  return { reachable: exposing.length > 0 && blockedBy.length === 0, exposing, blockedBy }
}

/** One node's metadata settings, as findings and doctor links quote them. */
export function describeNode(node: NodeInfo): string {
  if (node.roleArn !== undefined)
    return `podtrust metadata endpoint vending ${node.roleArn}: IMDSv2, no hop limit`
  return `${node.name}: HttpTokens=${node.httpTokens}, hop limit ${node.hopLimit}${node.httpEndpoint === 'disabled' ? ', endpoint disabled' : ''}`
}

/** The role a node's metadata service vends: the configured role, else its instance profile's. */
export function nodeRoleLabel(node: NodeInfo): string {
  if (node.roleArn !== undefined) return node.roleArn
  return node.instanceProfileArn !== undefined
    ? `of instance profile ${node.instanceProfileArn}`
    : `of ${node.name}`
}

/**
 * A NetworkPolicy that keeps the namespace's pods off IMDS and allows every other destination (the EKS best
 * practices' `deny-metadata-access`). NetworkPolicies only allow, so the deny is an `except`.
 */
export function denyImdsNetworkPolicy(namespace: string): string {
  return `kubectl apply -f - <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-imds, namespace: ${namespace} }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ ipBlock: { cidr: 0.0.0.0/0, except: [${IMDS_CIDR}] } }]
EOF`
}
