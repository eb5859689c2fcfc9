/**
 * @module generate/terraform
 * The model as Terraform (hashicorp/aws, hashicorp/azurerm, hashicorp/google). Policy documents are written
 * as pretty JSON heredocs, byte-for-byte what the model holds, so a reviewer reads the exact trust policy.
 * Resource arguments: https://registry.terraform.io/providers/hashicorp/aws/latest/docs (aws_iam_role,
 * aws_iam_openid_connect_provider, aws_iam_policy, aws_iam_role_policy_attachment,
 * aws_eks_pod_identity_association), …/azurerm/latest/docs (user_assigned_identity,
 * federated_identity_credential, role_assignment), …/google/latest/docs (iam_workload_identity_pool,
 * iam_workload_identity_pool_provider, service_account, service_account_iam_member, project_iam_member).
 */
import { attr, block, expr, Heredoc, renderHcl, terraformName, type HclItem } from './hcl.ts'
import type { AwsRoleModel, IacModel } from './model.ts'

export interface GeneratedFile {
  readonly path: string
  readonly content: string
}

const json = (doc: unknown): Heredoc => new Heredoc(`${JSON.stringify(doc, null, 2)}\n`)

export function renderTerraform(model: IacModel): GeneratedFile[] {
  const items: HclItem[] = [providersBlock(model), ...providerConfigs(model)]
  items.push(...awsItems(model), ...azureItems(model), ...gcpItems(model))
  return [{ path: 'main.tf', content: renderHcl(items) }]
}

function providersBlock(model: IacModel): HclItem {
  const providers: HclItem[] = []
  if (model.roles.length > 0) {
    // aws_eks_pod_identity_association first shipped in hashicorp/aws 5.31.
    providers.push(...attr('aws', { source: 'hashicorp/aws', version: '>= 5.31' }))
  }
  if (model.azure.length > 0)
    providers.push(...attr('azurerm', { source: 'hashicorp/azurerm', version: '>= 3.90' }))
  if (model.gcp.length > 0)
    providers.push(...attr('google', { source: 'hashicorp/google', version: '>= 5.0' }))
  return block(
    'terraform',
    [],
    [...attr('required_version', '>= 1.5'), block('required_providers', [], providers)],
  )
}

function providerConfigs(model: IacModel): HclItem[] {
  const out: HclItem[] = []
  const { aws, azure, gcp } = model.spec
  if (model.roles.length > 0 && aws !== undefined) {
    out.push(
      block(
        'provider',
        ['aws'],
        [...attr('region', aws.region), ...attr('allowed_account_ids', [aws.accountId])],
      ),
    )
  }
  if (model.azure.length > 0 && azure !== undefined) {
    out.push(
      block(
        'provider',
        ['azurerm'],
        [
          block('features', [], []),
          ...attr('subscription_id', azure.subscriptionId),
          ...attr('tenant_id', azure.tenantId),
        ],
      ),
    )
  }
  if (model.gcp.length > 0 && gcp !== undefined)
    out.push(block('provider', ['google'], [...attr('project', gcp.projectId)]))
  return out
}

const OIDC = 'aws_iam_openid_connect_provider'

function awsItems(model: IacModel): HclItem[] {
  const out: HclItem[] = []
  const provider = model.oidcProvider
  if (provider !== undefined) {
    if (provider.existing) {
      out.push(block('data', [OIDC, 'cluster'], [...attr('url', provider.url)]))
    } else {
      out.push(
        block(
          'resource',
          [OIDC, 'cluster'],
          [
            {
              comment: `IRSA: the cluster's service-account issuer, trusted for audience ${provider.clientIds.join(', ')}`,
            },
            ...attr('url', provider.url),
            ...attr('client_id_list', [...provider.clientIds]),
            ...(provider.thumbprints.length > 0
              ? attr('thumbprint_list', [...provider.thumbprints])
              : []),
          ],
        ),
      )
    }
  }
  for (const role of model.roles) out.push(...roleItems(model, role))
  return out
}

function roleItems(model: IacModel, role: AwsRoleModel): HclItem[] {
  const id = terraformName(role.workload)
  const w = model.spec.workloads.find((x) => x.name === role.workload)!
  const out: HclItem[] = []
  const dependsOn =
    role.method === 'irsa' && model.oidcProvider !== undefined
      ? expr(model.oidcProvider.existing ? `data.${OIDC}.cluster` : `${OIDC}.cluster`)
      : undefined
  out.push(
    block(
      'resource',
      ['aws_iam_role', id],
      [
        {
          comment: `${role.method === 'irsa' ? 'IRSA' : 'EKS Pod Identity'}: pods of ${w.namespace}/${w.serviceAccount}`,
        },
        ...attr('name', role.name),
        ...attr('path', role.path),
        ...attr('assume_role_policy', json(role.trustPolicy)),
        ...(dependsOn === undefined ? [] : attr('depends_on', [dependsOn])),
      ],
    ),
  )
  if (role.permissionsPolicy !== undefined) {
    out.push(
      block(
        'resource',
        ['aws_iam_policy', id],
        [
          ...attr('name', role.permissionsPolicy.name),
          ...attr('path', role.path),
          ...attr('policy', json(role.permissionsPolicy.document)),
        ],
      ),
      block(
        'resource',
        ['aws_iam_role_policy_attachment', id],
        [
          ...attr('role', expr(`aws_iam_role.${id}.name`)),
          ...attr('policy_arn', expr(`aws_iam_policy.${id}.arn`)),
        ],
      ),
    )
  }
  role.managedPolicyArns.forEach((arn, i) => {
    out.push(
      block(
        'resource',
        ['aws_iam_role_policy_attachment', `${id}_managed_${i}`],
        [...attr('role', expr(`aws_iam_role.${id}.name`)), ...attr('policy_arn', arn)],
      ),
    )
  })
  if (role.association !== undefined) {
    out.push(
      block(
        'resource',
        ['aws_eks_pod_identity_association', id],
        [
          ...attr('cluster_name', role.association.cluster),
          ...attr('namespace', role.association.namespace),
          ...attr('service_account', role.association.serviceAccount),
          ...attr('role_arn', expr(`aws_iam_role.${id}.arn`)),
        ],
      ),
    )
  }
  return out
}

function azureItems(model: IacModel): HclItem[] {
  const azure = model.spec.azure
  if (azure === undefined) return []
  const out: HclItem[] = []
  for (const identity of model.azure) {
    const id = terraformName(identity.workload)
    out.push(
      block(
        'resource',
        ['azurerm_user_assigned_identity', id],
        [
          ...attr('name', identity.name),
          ...attr('resource_group_name', azure.resourceGroup),
          ...attr('location', azure.location),
        ],
      ),
      block(
        'resource',
        ['azurerm_federated_identity_credential', id],
        [
          ...attr('name', identity.federatedCredential.name),
          ...attr('resource_group_name', azure.resourceGroup),
          ...attr('parent_id', expr(`azurerm_user_assigned_identity.${id}.id`)),
          ...attr('issuer', identity.federatedCredential.issuer),
          ...attr('subject', identity.federatedCredential.subject),
          ...attr('audience', [identity.federatedCredential.audience]),
        ],
      ),
    )
    identity.roleAssignments.forEach((ra, i) => {
      out.push(
        block(
          'resource',
          ['azurerm_role_assignment', `${id}_${i}`],
          [
            ...attr('scope', ra.scope),
            ...attr('role_definition_name', ra.role),
            ...attr('principal_id', expr(`azurerm_user_assigned_identity.${id}.principal_id`)),
            ...attr('principal_type', 'ServicePrincipal'),
          ],
        ),
      )
    })
    out.push(
      block(
        'output',
        [`${id}_azure_client_id`],
        [
          { comment: 'the ServiceAccount annotation azure.workload.identity/client-id' },
          ...attr('value', expr(`azurerm_user_assigned_identity.${id}.client_id`)),
        ],
      ),
    )
  }
  return out
}

function gcpItems(model: IacModel): HclItem[] {
  const pool = model.gcpPool
  if (pool === undefined) return []
  const out: HclItem[] = pool.gke
    ? [
        {
          comment: `GKE Workload Identity: the pool ${pool.poolId} is the cluster's own (enable it on the cluster and its node pools)`,
        },
      ]
    : [
        block(
          'resource',
          ['google_iam_workload_identity_pool', 'cluster'],
          [
            ...attr('workload_identity_pool_id', pool.poolId),
            ...attr('display_name', model.spec.cluster.name.slice(0, 32)),
          ],
        ),
        block(
          'resource',
          ['google_iam_workload_identity_pool_provider', 'cluster'],
          [
            ...attr(
              'workload_identity_pool_id',
              expr('google_iam_workload_identity_pool.cluster.workload_identity_pool_id'),
            ),
            ...attr('workload_identity_pool_provider_id', pool.providerId),
            ...attr('attribute_mapping', { ...pool.attributeMapping }),
            ...attr('attribute_condition', pool.attributeCondition),
            block('oidc', [], [...attr('issuer_uri', pool.issuer)]),
          ],
        ),
      ]
  for (const w of model.gcp) {
    const id = terraformName(w.workload)
    if (w.serviceAccount !== undefined) {
      out.push(
        block(
          'resource',
          ['google_service_account', id],
          [
            ...attr('account_id', w.serviceAccount.accountId),
            ...attr('display_name', `workload ${w.workload}`),
          ],
        ),
        block(
          'resource',
          ['google_service_account_iam_member', `${id}_workload_identity_user`],
          [
            ...attr('service_account_id', expr(`google_service_account.${id}.name`)),
            ...attr('role', 'roles/iam.workloadIdentityUser'),
            ...attr('member', w.impersonationMember),
          ],
        ),
      )
    }
    w.roles.forEach((role, i) => {
      out.push(
        block(
          'resource',
          ['google_project_iam_member', `${id}_${i}`],
          [
            ...attr('project', pool.projectId),
            ...attr('role', role),
            ...attr(
              'member',
              w.serviceAccount === undefined
                ? w.principal
                : expr(`"serviceAccount:\${google_service_account.${id}.email}"`),
            ),
          ],
        ),
      )
    })
  }
  return out
}
