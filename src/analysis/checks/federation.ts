/**
 * @module analysis/checks/federation
 * Azure Workload Identity (AZ-001, 003, 005, 006) and GCP Workload Identity Federation (GCP-001, 002, 004, 007)
 * checks, on the federation objects podtrust's store holds. Microsoft Graph `federatedIdentityCredential` (one
 * audience, at most 20 per identity, recommended audience `api://AzureADTokenExchange`); Azure Workload Identity
 * requires the pod label `azure.workload.identity/use: "true"`; Google IAM `WorkloadIdentityPoolProvider`
 * (`attributeCondition`, `allowedAudiences`, default audience the provider's resource name) and principal
 * identifiers (`principal://…/subject/S`, `principalSet://…/*`).
 */
import { finding, saKey, type ScanContext } from '../context.ts'
import type { ScanFinding } from '../model.ts'

const AZURE_AUDIENCE = 'api://AzureADTokenExchange'
const AZURE_CLIENT_ID = 'azure.workload.identity/client-id'
const AZURE_USE_LABEL = 'azure.workload.identity/use'
const GCP_SA_ANNOTATION = 'iam.gke.io/gcp-service-account'
const FIC_LIMIT = 20
const OTHER_CLOUD_AUDIENCES = [
  'sts.amazonaws.com',
  AZURE_AUDIENCE,
  'https://kubernetes.default.svc',
  'https://kubernetes.default.svc.cluster.local',
]

export function checkFederation(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { kube, side } = ctx.inputs
  const fics = side.azure
  if (fics !== undefined) {
    const byIdentity = new Map<string, typeof fics>()
    for (const f of fics) {
      const list = byIdentity.get(f.clientId)
      if (list === undefined) byIdentity.set(f.clientId, [f])
      else list.push(f)
      const id = `${f.identity}/${f.name}`
      if (f.claimsMatchingExpression !== undefined && /[*?]/.test(f.claimsMatchingExpression))
        out.push(
          finding(
            'AZ-001',
            'high',
            [id],
            `federated credential ${id} matches subjects by wildcard (${f.claimsMatchingExpression})`,
            'one exact subject per federated credential',
          ),
        )
      else if (
        f.subject !== undefined &&
        !/^system:serviceaccount:[^:]+:[^:]+$/.test(f.subject) &&
        !/^(repo:|project_path:)/.test(f.subject)
      )
        out.push(
          finding(
            'AZ-001',
            'high',
            [id],
            `federated credential ${id} has subject ${JSON.stringify(f.subject)}, not system:serviceaccount:<ns>:<sa>`,
            'set the subject to the ServiceAccount the workload runs as',
          ),
        )
      if (f.audiences.some((a) => a !== AZURE_AUDIENCE))
        out.push(
          finding(
            'AZ-003',
            'low',
            [id],
            `federated credential ${id} accepts audience ${f.audiences.join(', ')}, not ${AZURE_AUDIENCE}: tokens minted for other consumers may be accepted`,
            `use the audience ${AZURE_AUDIENCE}`,
          ),
        )
    }
    for (const [clientId, list] of byIdentity) {
      const subjects = new Set(
        list.map((f) => `${f.issuer} ${f.subject ?? f.claimsMatchingExpression ?? ''}`),
      )
      if (list.length >= FIC_LIMIT * 0.8 || subjects.size > 3)
        out.push(
          finding(
            'AZ-006',
            'low',
            [`${list[0]!.identity} (${clientId})`],
            `identity ${list[0]!.identity} is federated to ${subjects.size} subject(s)/issuer(s) with ${list.length} credentials (limit ${FIC_LIMIT})`,
            'one identity per workload',
          ),
        )
    }
    for (const sa of kube.serviceAccounts.values()) {
      const clientId = sa.annotations[AZURE_CLIENT_ID]
      if (clientId === undefined) continue
      const key = saKey(sa.namespace, sa.name)
      const sub = `system:serviceaccount:${sa.namespace}:${sa.name}`
      const matching = (byIdentity.get(clientId) ?? []).filter((f) => f.subject === sub)
      if (matching.length === 0)
        out.push(
          finding(
            'AZ-005',
            'medium',
            [key, clientId],
            `ServiceAccount ${key} names Azure client ${clientId}, which has no federated credential for subject ${sub}: Entra answers AADSTS70021`,
            `az identity federated-credential create --identity-name <identity> --resource-group <rg> --name ${sa.namespace}-${sa.name} --issuer <cluster issuer> --subject ${sub} --audiences ${AZURE_AUDIENCE}`,
            [sa.source],
          ),
        )
      for (const pod of kube.pods) {
        if (pod.namespace !== sa.namespace || pod.serviceAccountName !== sa.name) continue
        if (pod.labels[AZURE_USE_LABEL] !== 'true')
          out.push(
            finding(
              'AZ-005',
              'medium',
              [`${pod.namespace}/${pod.name}`, key],
              `${pod.namespace}/${pod.name} runs as ${key} (Azure client ${clientId}) without the label ${AZURE_USE_LABEL}: "true": the Azure webhook does not mutate it`,
              `add the label ${AZURE_USE_LABEL}: "true" to the pod template`,
              [pod.source],
            ),
          )
      }
    }
  }
  const gcp = side.gcp
  if (gcp !== undefined) {
    for (const p of gcp.providers) {
      if (p.disabled) continue
      if (p.attributeCondition === undefined || p.attributeCondition.trim() === '')
        out.push(
          finding(
            'GCP-001',
            /githubusercontent|gitlab|circleci/i.test(p.issuerUri) ? 'high' : 'medium',
            [p.name],
            `workload identity provider ${p.name} (issuer ${p.issuerUri}) has no attributeCondition: every token of the issuer federates`,
            `gcloud iam workload-identity-pools providers update-oidc … --attribute-condition="assertion['kubernetes.io']['namespace'] == '<ns>'"`,
          ),
        )
      const shared = p.allowedAudiences.filter((a) => OTHER_CLOUD_AUDIENCES.includes(a))
      if (shared.length > 0)
        out.push(
          finding(
            'GCP-004',
            'high',
            [p.name],
            `workload identity provider ${p.name} accepts audience(s) ${shared.join(', ')} that other clouds or the API server use: tokens minted for them can be replayed to Google STS`,
            'use a dedicated audience, or none (the default is the provider resource name)',
          ),
        )
    }
    for (const gsa of gcp.serviceAccounts) {
      for (const b of gsa.bindings) {
        if (
          !['roles/iam.workloadIdentityUser', 'roles/iam.serviceAccountTokenCreator'].includes(
            b.role,
          )
        )
          continue
        for (const m of b.members) {
          if (/^principalSet:\/\/.*\/\*$/.test(m) || /^principalSet:\/\/.*\/group\//.test(m))
            out.push(
              finding(
                'GCP-002',
                'high',
                [gsa.email, m],
                `${gsa.email}: ${b.role} is granted to ${m}: every identity of the pool (or group) can impersonate it`,
                'bind single principals: principal://iam.googleapis.com/…/subject/system:serviceaccount:<ns>:<sa>',
              ),
            )
          else if (/^principalSet:\/\/.*\/attribute\.[a-z_]*namespace[a-z_]*\//.test(m))
            out.push(
              finding(
                'GCP-002',
                'medium',
                [gsa.email, m],
                `${gsa.email}: ${b.role} is granted to a whole namespace (${m})`,
                'bind single ServiceAccounts',
              ),
            )
        }
      }
    }
    // Without any service-account IAM policy in the inputs, GCP-007 cannot tell a missing binding from a missing input.
    for (const sa of gcp.serviceAccountsKnown === false ? [] : kube.serviceAccounts.values()) {
      const email = sa.annotations[GCP_SA_ANNOTATION]
      if (email === undefined) continue
      const key = saKey(sa.namespace, sa.name)
      const policy = gcp.serviceAccounts.find((g) => g.email === email)
      const subject = `system:serviceaccount:${sa.namespace}:${sa.name}`
      const gkeMember =
        policy === undefined
          ? undefined
          : `serviceAccount:${policy.projectId}.svc.id.goog[${sa.namespace}/${sa.name}]`
      const granted = policy?.bindings.some(
        (b) =>
          b.role === 'roles/iam.workloadIdentityUser' &&
          b.members.some(
            (m) =>
              m === gkeMember ||
              m.endsWith(`/subject/${subject}`) ||
              /^principalSet:\/\/.*\/\*$/.test(m),
          ),
      )
      if (granted !== true)
        out.push(
          finding(
            'GCP-007',
            'medium',
            [key, email],
            `ServiceAccount ${key} names ${email}, but ${policy === undefined ? 'that Google service account is unknown' : `no binding grants roles/iam.workloadIdentityUser to ${subject}`}: impersonation fails with PERMISSION_DENIED`,
            `gcloud iam service-accounts add-iam-policy-binding ${email} --role=roles/iam.workloadIdentityUser --member="${gkeMember ?? `principal://iam.googleapis.com/projects/<N>/locations/global/workloadIdentityPools/<POOL>/subject/${subject}`}"`,
            [sa.source],
          ),
        )
    }
  }
  return out
}
