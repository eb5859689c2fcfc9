/**
 * @module aws/eks-auth/tags
 * What EKS Pod Identity puts on a session: the six transitive session tags and the session name
 * (EKS User Guide, "Grant Pods access to AWS resources based on tags", the list of session tags added by EKS
 * Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html).
 */

export const POD_IDENTITY_SERVICE_PRINCIPAL = 'pods.eks.amazonaws.com'
export const POD_IDENTITY_AUDIENCE = 'pods.eks.amazonaws.com'

/** The tag keys, in the order AWS documents them; all transitive. */
export const POD_IDENTITY_TAG_KEYS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
] as const

export interface PodIdentitySubject {
  clusterArn: string
  clusterName: string
  namespace: string
  serviceAccount: string
  podName: string
  podUid: string
}

export function podIdentityTags(s: PodIdentitySubject): { key: string; value: string }[] {
  const values: Record<(typeof POD_IDENTITY_TAG_KEYS)[number], string> = {
    'eks-cluster-arn': s.clusterArn,
    'eks-cluster-name': s.clusterName,
    'kubernetes-namespace': s.namespace,
    'kubernetes-service-account': s.serviceAccount,
    'kubernetes-pod-name': s.podName,
    'kubernetes-pod-uid': s.podUid,
  }
  return POD_IDENTITY_TAG_KEYS.map((key) => ({ key, value: values[key] }))
}

/**
 * "eks-clustername-podname-random UUID": `eks-` + cluster name cut to 10 + `-` + pod name cut to 10 + `-` +
 * UUID. A real example is `eks-eks-pod-id-reinf24-ek-16f667fa-2208-4b73-b327-cf12442e874b` (62 characters,
 * within STS's 64). The 10-character cut is inferred from that example.
 */
export function podIdentitySessionName(clusterName: string, podName: string, uuid: string): string {
  const clean = (s: string) => s.replace(/[^\w+=,.@-]/g, '-').slice(0, 10)
  return `eks-${clean(clusterName)}-${clean(podName)}-${uuid}`.slice(0, 64)
}
