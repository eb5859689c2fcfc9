/**
 * One normalized view of AWS IAM state, read from each rendering of a spec (Terraform as parsed by
 * HashiCorp's HCL parser, a CloudFormation template, podtrust's own export), so the equivalence tests compare
 * resource by resource: OIDC providers, roles (path, trust policy, the documents or ARNs of every attached
 * policy) and Pod Identity associations.
 */
import { parse as parseHcl } from '@cdktf/hcl2json'
import { parse as parseYaml } from 'yaml'

export interface RoleState {
  path: string
  trust: unknown
  /** Customer policies by document, AWS managed ones by ARN; sorted. */
  attached: string[]
}

export interface IamState {
  oidcProviders: Array<{ url: string; clientIds: string[] }>
  roles: Record<string, RoleState>
  associations: Array<{ cluster: string; namespace: string; serviceAccount: string; role: string }>
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of external formats, read field by field
type Obj = Record<string, any>

/** JSON with object keys sorted, so two equal documents compare equal as text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Obj)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

/** Terraform JSON syntax escapes `${` as `$${` and `%{` as `%%{`: the literal value. */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')
}

const REF = /^\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/

export async function parseTerraform(text: string): Promise<Obj> {
  return (await parseHcl('main.tf', text)) as Obj
}

export function stateFromTerraform(tf: Obj): IamState {
  const r: Obj = tf['resource'] ?? {}
  const one = (group: Obj | undefined): Array<[string, Obj]> =>
    Object.entries(group ?? {}).map(([k, v]) => [k, (v as Obj[])[0]!])
  const roles: Record<string, RoleState> = {}
  const roleNames: Record<string, string> = {}
  for (const [id, role] of one(r['aws_iam_role'])) {
    roleNames[id] = role['name']
    roles[role['name']] = {
      path: role['path'] ?? '/',
      trust: JSON.parse(terraformLiteral(role['assume_role_policy'])),
      attached: [],
    }
  }
  const policies: Record<string, string> = {}
  for (const [id, p] of one(r['aws_iam_policy']))
    policies[id] = canonical(JSON.parse(terraformLiteral(p['policy'])))
  for (const [, a] of one(r['aws_iam_role_policy_attachment'])) {
    const role = REF.exec(a['role'])
    const policy = REF.exec(a['policy_arn'])
    const name = roleNames[role![2]!]!
    roles[name]!.attached.push(policy === null ? a['policy_arn'] : policies[policy[2]!]!)
  }
  for (const role of Object.values(roles)) role.attached.sort()
  const oidcProviders = one(r['aws_iam_openid_connect_provider']).map(([, p]) => ({
    url: p['url'],
    clientIds: p['client_id_list'],
  }))
  const associations = one(r['aws_eks_pod_identity_association']).map(([, a]) => ({
    cluster: a['cluster_name'],
    namespace: a['namespace'],
    serviceAccount: a['service_account'],
    role: roleNames[REF.exec(a['role_arn'])![2]!]!,
  }))
  return { oidcProviders, roles, associations }
}

export function stateFromCloudFormation(template: Obj): IamState {
  const resources = Object.entries(template['Resources'] as Obj)
  const of = (type: string) => resources.filter(([, v]) => v.Type === type)
  const policies = Object.fromEntries(
    of('AWS::IAM::ManagedPolicy').map(([id, v]) => [id, canonical(v.Properties.PolicyDocument)]),
  )
  const roleNames: Record<string, string> = {}
  const roles: Record<string, RoleState> = {}
  for (const [id, v] of of('AWS::IAM::Role')) {
    const p = v.Properties
    roleNames[id] = p.RoleName
    roles[p.RoleName] = {
      path: p.Path ?? '/',
      trust: p.AssumeRolePolicyDocument,
      attached: (p.ManagedPolicyArns ?? [])
        .map((a: unknown) => (typeof a === 'string' ? a : policies[(a as Obj)['Ref']]!))
        .sort(),
    }
  }
  return {
    oidcProviders: of('AWS::IAM::OIDCProvider').map(([, v]) => ({
      url: v.Properties.Url,
      clientIds: v.Properties.ClientIdList,
    })),
    roles,
    associations: of('AWS::EKS::PodIdentityAssociation').map(([, v]) => ({
      cluster: v.Properties.ClusterName,
      namespace: v.Properties.Namespace,
      serviceAccount: v.Properties.ServiceAccount,
      role: roleNames[v.Properties.RoleArn['Fn::GetAtt'][0]]!,
    })),
  }
}

/** From `podtrust export` (the store's state after `podtrust apply`). */
export function stateFromPodtrustExport(yaml: string): IamState {
  const doc = parseYaml(yaml) as Obj
  const doc2 = (d: unknown): unknown => (typeof d === 'string' ? JSON.parse(d) : d)
  const policies: Record<string, string> = {}
  for (const p of doc['policies'] ?? []) {
    policies[`arn:aws:iam::${p.account}:policy${p.path ?? '/'}${p.name}`] = canonical(
      doc2(p.document),
    )
  }
  const roles: Record<string, RoleState> = {}
  const arns: Record<string, string> = {}
  for (const r of doc['roles'] ?? []) {
    arns[`arn:aws:iam::${r.account}:role${r.path ?? '/'}${r.name}`] = r.name
    roles[r.name] = {
      path: r.path ?? '/',
      trust: doc2(r.assumeRolePolicy),
      attached: (r.managedPolicies ?? []).map((a: string) => policies[a] ?? a).sort(),
    }
  }
  return {
    oidcProviders: (doc['oidcProviders'] ?? []).map((p: Obj) => ({
      url: p.url,
      clientIds: p.clientIds,
    })),
    roles,
    associations: (doc['podIdentityAssociations'] ?? []).map((a: Obj) => ({
      cluster: a.cluster,
      namespace: a.namespace,
      serviceAccount: a.serviceAccount,
      role: arns[a.roleArn]!,
    })),
  }
}
