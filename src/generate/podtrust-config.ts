/**
 * @module generate/podtrust-config
 * The model as a podtrust config document (docs/config.md), so a team develops against a local podtrust with
 * the very trust policies, permissions and associations the Terraform/CloudFormation deploys. What podtrust
 * has no model for (Azure role assignments, Google project roles) is listed in a comment, not dropped
 * silently.
 */
import { stringify } from 'yaml'
import type { IacModel } from './model.ts'
import type { GeneratedFile } from './terraform.ts'

export function buildPodtrustConfig(model: IacModel): Record<string, unknown> {
  const doc: Record<string, unknown> = { version: 1 }
  const aws = model.spec.aws
  if (aws !== undefined && model.roles.length > 0) {
    if (model.oidcProvider !== undefined) {
      doc['oidcProviders'] = [
        {
          url: model.oidcProvider.url,
          account: aws.accountId,
          clientIds: [...model.oidcProvider.clientIds],
          ...(model.oidcProvider.thumbprints.length > 0
            ? { thumbprints: [...model.oidcProvider.thumbprints] }
            : {}),
        },
      ]
    }
    const policies = model.roles.flatMap((r) =>
      r.permissionsPolicy === undefined
        ? []
        : [
            {
              name: r.permissionsPolicy.name,
              account: aws.accountId,
              path: r.path,
              document: r.permissionsPolicy.document,
            },
          ],
    )
    if (policies.length > 0) doc['policies'] = policies
    doc['roles'] = model.roles.map((r) => ({
      name: r.name,
      account: aws.accountId,
      path: r.path,
      assumeRolePolicy: r.trustPolicy,
      managedPolicies: [
        ...(r.permissionsPolicy === undefined ? [] : [r.permissionsPolicy.arn]),
        ...r.managedPolicyArns,
      ],
    }))
    const associations = model.roles.flatMap((r) =>
      r.association === undefined ? [] : [{ ...r.association, roleArn: r.arn }],
    )
    if (associations.length > 0) {
      doc['clusters'] = [
        {
          name: model.spec.cluster.name,
          issuer: model.spec.cluster.issuer,
          region: aws.region,
          accountId: aws.accountId,
        },
      ]
      doc['podIdentityAssociations'] = associations
    }
  }
  const azure = model.spec.azure
  const identities = model.azure.filter((a) => a.clientId !== undefined)
  if (azure !== undefined && identities.length > 0) {
    doc['azure'] = {
      tenants: [
        {
          tenantId: azure.tenantId,
          identities: identities.map((a) => ({
            name: a.name,
            clientId: a.clientId,
            federatedCredentials: [
              {
                name: a.federatedCredential.name,
                issuer: a.federatedCredential.issuer,
                subject: a.federatedCredential.subject,
                audiences: [a.federatedCredential.audience],
              },
            ],
          })),
        },
      ],
    }
  }
  const pool = model.gcpPool
  if (pool !== undefined && !pool.gke) {
    doc['gcp'] = {
      projects: [
        {
          projectId: pool.projectId,
          projectNumber: pool.projectNumber,
          pools: [
            {
              poolId: pool.poolId,
              providers: [
                {
                  providerId: pool.providerId,
                  oidc: { issuerUri: pool.issuer },
                  attributeMapping: { ...pool.attributeMapping },
                  attributeCondition: pool.attributeCondition,
                },
              ],
            },
          ],
          serviceAccounts: model.gcp.flatMap((g) =>
            g.serviceAccount === undefined
              ? []
              : [
                  {
                    accountId: g.serviceAccount.accountId,
                    bindings: [{ role: 'roles/iam.workloadIdentityUser', members: [g.principal] }],
                  },
                ],
          ),
        },
      ],
    }
  }
  return doc
}

/** What the podtrust document cannot say, one line each (written as a comment at its top). */
export function notInPodtrustConfig(model: IacModel): string[] {
  const out: string[] = []
  for (const a of model.azure) {
    if (a.clientId === undefined)
      out.push(`${a.workload}: Azure identity without clientId (set azure.clientId in the spec)`)
    for (const ra of a.roleAssignments)
      out.push(`${a.workload}: Azure role assignment ${ra.role} on ${ra.scope}`)
  }
  for (const g of model.gcp)
    for (const role of g.roles) out.push(`${g.workload}: Google project role ${role}`)
  return out
}

export function renderPodtrustConfig(model: IacModel): GeneratedFile {
  const missing = notInPodtrustConfig(model)
  const header = [
    '# podtrust config (docs/config.md) equivalent to the generated IaC: `podtrust apply podtrust.yaml`.',
    ...(missing.length > 0
      ? [
          '# Not modelled by podtrust (deploy them with the IaC only):',
          ...missing.map((m) => `#   ${m}`),
        ]
      : []),
  ]
  return {
    path: 'podtrust.yaml',
    content: `${header.join('\n')}\n${stringify(buildPodtrustConfig(model), { lineWidth: 0 })}`,
  }
}
