/**
 * @module generate/from-state
 * `podtrust export --format terraform|cloudformation`: podtrust's live state (the document `podtrust export`
 * writes, docs/config.md) as infrastructure as code, so what a team develops against podtrust deploys to the
 * cloud with the same trust policies, permissions and associations. Policy documents are written as the
 * export holds them (pretty JSON of a mapping; a JSON string as is). Not carried: IAM users, their access keys
 * and login profiles, and the groups they belong to (long-term credentials: create them deliberately), podtrust's
 * own issuers and clusters (the cloud has its own).
 */
import {
  attr,
  block,
  expr,
  Heredoc,
  renderHcl,
  terraformName,
  type HclItem,
  type HclValue,
} from './hcl.ts'
import { logicalId, type CfnTemplate } from './cloudformation.ts'
import type { GeneratedFile } from './terraform.ts'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** A policy document as text: a JSON string as given, a mapping as pretty JSON. */
function documentText(doc: unknown): string {
  return typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2)
}
function documentJson(doc: unknown): unknown {
  return typeof doc === 'string' ? (JSON.parse(doc) as unknown) : doc
}

interface StateRole {
  id: string
  account: string
  name: string
  path: string
  arn: string
  doc: Obj
}

function roles(state: Obj, defaultAccount: string): StateRole[] {
  return list(state['roles']).map((r) => {
    const account = str(r['account']) ?? defaultAccount
    const path = str(r['path']) ?? '/'
    const name = str(r['name']) ?? ''
    return {
      id: terraformName(`${name}_${account}`),
      account,
      name,
      path,
      arn: `arn:aws:iam::${account}:role${path}${name}`,
      doc: r,
    }
  })
}

function policyArns(
  state: Obj,
  defaultAccount: string,
): Map<string, { id: string; doc: Obj; account: string }> {
  const out = new Map<string, { id: string; doc: Obj; account: string }>()
  for (const p of list(state['policies'])) {
    const account = str(p['account']) ?? defaultAccount
    const name = str(p['name']) ?? ''
    out.set(`arn:aws:iam::${account}:policy${str(p['path']) ?? '/'}${name}`, {
      id: terraformName(`${name}_${account}`),
      doc: p,
      account,
    })
  }
  return out
}

function tagsOf(v: unknown): Record<string, string> | undefined {
  return isObj(v) && Object.keys(v).length > 0 ? (v as Record<string, string>) : undefined
}

export function stateToTerraform(
  state: Obj,
  defaultAccount: string,
  region: string,
): GeneratedFile[] {
  const items: HclItem[] = []
  const rs = roles(state, defaultAccount)
  const policies = policyArns(state, defaultAccount)
  const accounts = [
    ...new Set([
      ...rs.map((r) => r.account),
      ...[...policies.values()].map((p) => p.account),
      ...list(state['oidcProviders']).map((p) => str(p['account']) ?? defaultAccount),
    ]),
  ].sort()
  const providerFor = (account: string): HclItem[] =>
    accounts.length > 1 ? attr('provider', expr(`aws.a${account}`)) : []
  const hasAzure = list(isObj(state['azure']) ? state['azure']['tenants'] : undefined).length > 0
  const hasGcp = list(isObj(state['gcp']) ? state['gcp']['projects'] : undefined).length > 0
  const required: HclItem[] = []
  if (accounts.length > 0)
    required.push(...attr('aws', { source: 'hashicorp/aws', version: '>= 5.31' }))
  if (hasAzure)
    required.push(...attr('azurerm', { source: 'hashicorp/azurerm', version: '>= 3.90' }))
  if (hasGcp) required.push(...attr('google', { source: 'hashicorp/google', version: '>= 5.0' }))
  items.push(
    block(
      'terraform',
      [],
      [...attr('required_version', '>= 1.5'), block('required_providers', [], required)],
    ),
  )
  if (accounts.length === 1)
    items.push(
      block(
        'provider',
        ['aws'],
        [...attr('region', region), ...attr('allowed_account_ids', accounts)],
      ),
    )
  for (const account of accounts.length > 1 ? accounts : []) {
    items.push(
      block(
        'provider',
        ['aws'],
        [
          ...attr('alias', `a${account}`),
          ...attr('region', region),
          ...attr('allowed_account_ids', [account]),
        ],
      ),
    )
  }
  for (const p of list(state['oidcProviders'])) {
    const account = str(p['account']) ?? defaultAccount
    const url = str(p['url']) ?? ''
    const thumbprints = Array.isArray(p['thumbprints']) ? (p['thumbprints'] as string[]) : []
    items.push(
      block(
        'resource',
        [
          'aws_iam_openid_connect_provider',
          terraformName(`${url.replace(/^https:\/\//, '')}_${account}`),
        ],
        [
          ...providerFor(account),
          ...attr('url', url),
          ...attr(
            'client_id_list',
            Array.isArray(p['clientIds']) ? (p['clientIds'] as string[]) : [],
          ),
          ...(thumbprints.length > 0 ? attr('thumbprint_list', thumbprints) : []),
          ...attr('tags', tagsOf(p['tags'])),
        ],
      ),
    )
  }
  for (const [, p] of policies) {
    items.push(
      block(
        'resource',
        ['aws_iam_policy', p.id],
        [
          ...providerFor(p.account),
          ...attr('name', str(p.doc['name'])),
          ...attr('path', str(p.doc['path']) ?? '/'),
          ...attr('description', str(p.doc['description'])),
          ...attr('policy', new Heredoc(`${documentText(p.doc['document'])}\n`)),
          ...attr('tags', tagsOf(p.doc['tags'])),
        ],
      ),
    )
  }
  const policyRef = (ref: string, account: string): HclValue => {
    const arn = ref.startsWith('arn:') ? ref : `arn:aws:iam::${account}:policy/${ref}`
    const p =
      policies.get(arn) ??
      [...policies.entries()].find(
        ([a]) => a.startsWith(`arn:aws:iam::${account}:policy/`) && a.endsWith(`/${ref}`),
      )?.[1]
    return p === undefined ? arn : expr(`aws_iam_policy.${p.id}.arn`)
  }
  for (const r of rs) {
    const d = r.doc
    items.push(
      block(
        'resource',
        ['aws_iam_role', r.id],
        [
          ...providerFor(r.account),
          ...attr('name', r.name),
          ...attr('path', r.path),
          ...attr('description', str(d['description'])),
          ...attr(
            'max_session_duration',
            typeof d['maxSessionDuration'] === 'number' ? d['maxSessionDuration'] : undefined,
          ),
          ...attr('assume_role_policy', new Heredoc(`${documentText(d['assumeRolePolicy'])}\n`)),
          ...attr(
            'permissions_boundary',
            str(d['permissionsBoundary']) === undefined
              ? undefined
              : policyRef(str(d['permissionsBoundary'])!, r.account),
          ),
          ...attr('tags', tagsOf(d['tags'])),
        ],
      ),
    )
    for (const [name, doc] of Object.entries(isObj(d['policies']) ? d['policies'] : {})) {
      items.push(
        block(
          'resource',
          ['aws_iam_role_policy', terraformName(`${r.id}_${name}`)],
          [
            ...providerFor(r.account),
            ...attr('name', name),
            ...attr('role', expr(`aws_iam_role.${r.id}.name`)),
            ...attr('policy', new Heredoc(`${documentText(doc)}\n`)),
          ],
        ),
      )
    }
    ;(Array.isArray(d['managedPolicies']) ? (d['managedPolicies'] as string[]) : []).forEach(
      (ref, i) => {
        items.push(
          block(
            'resource',
            ['aws_iam_role_policy_attachment', `${r.id}_${i}`],
            [
              ...providerFor(r.account),
              ...attr('role', expr(`aws_iam_role.${r.id}.name`)),
              ...attr('policy_arn', policyRef(ref, r.account)),
            ],
          ),
        )
      },
    )
  }
  for (const a of list(state['podIdentityAssociations'])) {
    const roleArn = str(a['roleArn']) ?? ''
    const role = rs.find((r) => r.arn === roleArn)
    const target = str(a['targetRoleArn'])
    const targetRole = rs.find((r) => r.arn === target)
    items.push(
      block(
        'resource',
        [
          'aws_eks_pod_identity_association',
          terraformName(`${str(a['cluster'])}_${str(a['namespace'])}_${str(a['serviceAccount'])}`),
        ],
        [
          ...(role === undefined ? [] : providerFor(role.account)),
          ...attr('cluster_name', str(a['cluster'])),
          ...attr('namespace', str(a['namespace'])),
          ...attr('service_account', str(a['serviceAccount'])),
          ...attr('role_arn', role === undefined ? roleArn : expr(`aws_iam_role.${role.id}.arn`)),
          ...attr(
            'target_role_arn',
            target === undefined
              ? undefined
              : targetRole === undefined
                ? target
                : expr(`aws_iam_role.${targetRole.id}.arn`),
          ),
          ...attr('disable_session_tags', a['disableSessionTags'] === true ? true : undefined),
          ...attr('tags', tagsOf(a['tags'])),
        ],
      ),
    )
  }
  items.push(...azureFromState(state), ...gcpFromState(state))
  return [{ path: 'main.tf', content: renderHcl(items) }]
}

function azureFromState(state: Obj): HclItem[] {
  const tenants = list(isObj(state['azure']) ? state['azure']['tenants'] : undefined)
  if (tenants.length === 0) return []
  const items: HclItem[] = [
    block('provider', ['azurerm'], [block('features', [], [])]),
    block(
      'variable',
      ['azure_resource_group_name'],
      [
        { comment: 'podtrust does not model resource groups: the one for these identities' },
        ...attr('type', expr('string')),
      ],
    ),
    block('variable', ['azure_location'], [...attr('type', expr('string'))]),
  ]
  for (const tenant of tenants) {
    for (const identity of list(tenant['identities'])) {
      const id = terraformName(str(identity['name']) ?? 'identity')
      if (str(identity['type']) === 'application') {
        items.push({
          comment: `${str(identity['name'])}: an app registration (azuread provider), not generated`,
        })
        continue
      }
      items.push(
        block(
          'resource',
          ['azurerm_user_assigned_identity', id],
          [
            ...attr('name', str(identity['name'])),
            ...attr('resource_group_name', expr('var.azure_resource_group_name')),
            ...attr('location', expr('var.azure_location')),
          ],
        ),
      )
      for (const fic of list(identity['federatedCredentials'])) {
        if (str(fic['subject']) === undefined) {
          items.push({
            comment: `${str(fic['name'])}: a claims-matching (flexible) credential; azurerm has no argument for it, not generated`,
          })
          continue
        }
        items.push(
          block(
            'resource',
            ['azurerm_federated_identity_credential', terraformName(`${id}_${str(fic['name'])}`)],
            [
              ...attr('name', str(fic['name'])),
              ...attr('resource_group_name', expr('var.azure_resource_group_name')),
              ...attr('parent_id', expr(`azurerm_user_assigned_identity.${id}.id`)),
              ...attr('issuer', str(fic['issuer'])),
              ...attr('subject', str(fic['subject'])),
              ...attr(
                'audience',
                Array.isArray(fic['audiences'])
                  ? (fic['audiences'] as string[])
                  : ['api://AzureADTokenExchange'],
              ),
            ],
          ),
        )
      }
    }
  }
  return items
}

function gcpFromState(state: Obj): HclItem[] {
  const projects = list(isObj(state['gcp']) ? state['gcp']['projects'] : undefined)
  const items: HclItem[] = []
  for (const project of projects) {
    const projectId = str(project['projectId']) ?? ''
    for (const pool of list(project['pools'])) {
      const poolId = str(pool['poolId']) ?? ''
      const poolRes = terraformName(`${projectId}_${poolId}`)
      items.push(
        block(
          'resource',
          ['google_iam_workload_identity_pool', poolRes],
          [
            ...attr('project', projectId),
            ...attr('workload_identity_pool_id', poolId),
            ...attr('display_name', str(pool['displayName'])),
            ...attr('disabled', pool['disabled'] === true ? true : undefined),
          ],
        ),
      )
      for (const provider of list(pool['providers'])) {
        const oidc = isObj(provider['oidc']) ? provider['oidc'] : {}
        const audiences = Array.isArray(oidc['allowedAudiences'])
          ? (oidc['allowedAudiences'] as string[])
          : []
        const jwks = oidc['jwksJson']
        items.push(
          block(
            'resource',
            [
              'google_iam_workload_identity_pool_provider',
              terraformName(`${poolRes}_${str(provider['providerId'])}`),
            ],
            [
              ...attr('project', projectId),
              ...attr(
                'workload_identity_pool_id',
                expr(`google_iam_workload_identity_pool.${poolRes}.workload_identity_pool_id`),
              ),
              ...attr('workload_identity_pool_provider_id', str(provider['providerId'])),
              ...attr(
                'attribute_mapping',
                isObj(provider['attributeMapping'])
                  ? (provider['attributeMapping'] as Record<string, string>)
                  : { 'google.subject': 'assertion.sub' },
              ),
              ...attr('attribute_condition', str(provider['attributeCondition'])),
              ...attr('disabled', provider['disabled'] === true ? true : undefined),
              block(
                'oidc',
                [],
                [
                  ...attr('issuer_uri', str(oidc['issuerUri'])),
                  ...(audiences.length > 0 ? attr('allowed_audiences', audiences) : []),
                  ...(jwks === undefined
                    ? []
                    : attr('jwks_json', typeof jwks === 'string' ? jwks : JSON.stringify(jwks))),
                ],
              ),
            ],
          ),
        )
      }
    }
    for (const sa of list(project['serviceAccounts'])) {
      const accountId = str(sa['accountId']) ?? (str(sa['email']) ?? '').split('@')[0] ?? ''
      const id = terraformName(`${projectId}_${accountId}`)
      items.push(
        block(
          'resource',
          ['google_service_account', id],
          [
            ...attr('project', projectId),
            ...attr('account_id', accountId),
            ...attr('display_name', str(sa['displayName'])),
          ],
        ),
      )
      list(sa['bindings']).forEach((b, i) => {
        ;(Array.isArray(b['members']) ? (b['members'] as string[]) : []).forEach((member, j) => {
          items.push(
            block(
              'resource',
              ['google_service_account_iam_member', `${id}_${i}_${j}`],
              [
                ...attr('service_account_id', expr(`google_service_account.${id}.name`)),
                ...attr('role', str(b['role'])),
                ...attr('member', member),
              ],
            ),
          )
        })
      })
    }
  }
  return items
}

/** One template per AWS account (a stack deploys into one account). */
export function stateToCloudFormation(state: Obj, defaultAccount: string): GeneratedFile[] {
  const rs = roles(state, defaultAccount)
  const policies = policyArns(state, defaultAccount)
  const accounts = [
    ...new Set([
      ...rs.map((r) => r.account),
      ...[...policies.values()].map((p) => p.account),
      ...list(state['oidcProviders']).map((p) => str(p['account']) ?? defaultAccount),
    ]),
  ].sort()
  const roleIds = new Map(rs.map((r) => [r.arn, logicalId(`${r.name}`, 'Role')]))
  return accounts.map((account) => {
    const resources: CfnTemplate['Resources'] = {}
    list(state['oidcProviders'])
      .filter((p) => (str(p['account']) ?? defaultAccount) === account)
      .forEach((p, i) => {
        const thumbprints = Array.isArray(p['thumbprints']) ? p['thumbprints'] : []
        resources[`OidcProvider${i + 1}`] = {
          Type: 'AWS::IAM::OIDCProvider',
          Properties: {
            Url: str(p['url']),
            ClientIdList: Array.isArray(p['clientIds']) ? p['clientIds'] : [],
            ...(thumbprints.length > 0 ? { ThumbprintList: thumbprints } : {}),
            ...cfnTags(p['tags']),
          },
        }
      })
    const policyIds = new Map<string, string>()
    for (const [arn, p] of policies) {
      if (p.account !== account) continue
      const id = logicalId(str(p.doc['name']) ?? 'policy', 'Policy')
      policyIds.set(arn, id)
      resources[id] = {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          ManagedPolicyName: str(p.doc['name']),
          Path: str(p.doc['path']) ?? '/',
          ...(str(p.doc['description']) === undefined
            ? {}
            : { Description: str(p.doc['description']) }),
          PolicyDocument: documentJson(p.doc['document']),
        },
      }
    }
    const ref = (value: string): unknown => {
      const arn = value.startsWith('arn:')
        ? value
        : ([...policyIds.keys()].find((a) => a.endsWith(`/${value}`)) ?? value)
      const id = policyIds.get(arn)
      return id === undefined ? arn : { Ref: id }
    }
    for (const r of rs.filter((x) => x.account === account)) {
      const d = r.doc
      const inline = Object.entries(isObj(d['policies']) ? d['policies'] : {})
      const managed = Array.isArray(d['managedPolicies']) ? (d['managedPolicies'] as string[]) : []
      resources[roleIds.get(r.arn)!] = {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: r.name,
          Path: r.path,
          AssumeRolePolicyDocument: documentJson(d['assumeRolePolicy']),
          ...(str(d['description']) === undefined ? {} : { Description: str(d['description']) }),
          ...(typeof d['maxSessionDuration'] === 'number'
            ? { MaxSessionDuration: d['maxSessionDuration'] }
            : {}),
          ...(str(d['permissionsBoundary']) === undefined
            ? {}
            : { PermissionsBoundary: ref(str(d['permissionsBoundary'])!) }),
          ...(managed.length > 0 ? { ManagedPolicyArns: managed.map(ref) } : {}),
          ...(inline.length > 0
            ? {
                Policies: inline.map(([PolicyName, doc]) => ({
                  PolicyName,
                  PolicyDocument: documentJson(doc),
                })),
              }
            : {}),
          ...cfnTags(d['tags']),
        },
      }
    }
    list(state['podIdentityAssociations']).forEach((a) => {
      const roleArn = str(a['roleArn']) ?? ''
      if (
        rs.find((r) => r.arn === roleArn)?.account !== account &&
        roleArn.split(':')[4] !== account
      )
        return
      const local = rs.find((r) => r.arn === roleArn && r.account === account)
      const target = str(a['targetRoleArn'])
      const targetLocal = rs.find((r) => r.arn === target && r.account === account)
      resources[
        logicalId(
          `${str(a['cluster'])} ${str(a['namespace'])} ${str(a['serviceAccount'])}`,
          'PodIdentityAssociation',
        )
      ] = {
        Type: 'AWS::EKS::PodIdentityAssociation',
        Properties: {
          ClusterName: str(a['cluster']),
          Namespace: str(a['namespace']),
          ServiceAccount: str(a['serviceAccount']),
          RoleArn:
            local === undefined ? roleArn : { 'Fn::GetAtt': [roleIds.get(local.arn)!, 'Arn'] },
          ...(target === undefined
            ? {}
            : {
                TargetRoleArn:
                  targetLocal === undefined
                    ? target
                    : { 'Fn::GetAtt': [roleIds.get(targetLocal.arn)!, 'Arn'] },
              }),
          ...(a['disableSessionTags'] === true ? { DisableSessionTags: true } : {}),
          ...cfnTags(a['tags']),
        },
      }
    })
    const template: CfnTemplate = {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: `podtrust state of account ${account} (generated by podtrust export)`,
      Resources: resources,
    }
    return {
      path: accounts.length === 1 ? 'template.json' : `template-${account}.json`,
      content: `${JSON.stringify(template, null, 2)}\n`,
    }
  })
}

function cfnTags(v: unknown): { Tags?: Array<{ Key: string; Value: string }> } {
  const t = tagsOf(v)
  return t === undefined ? {} : { Tags: Object.entries(t).map(([Key, Value]) => ({ Key, Value })) }
}
