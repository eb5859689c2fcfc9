/**
 * @module analysis/checks/trust
 * Generic role trust (TRUST-001…008), EKS Pod Identity trust and ABAC (PODID-001…007) and roles trusting node
 * roles (LEG-003). Pod Identity decisions are evaluated with the request context EKS sends (principal
 * `pods.eks.amazonaws.com`, session tags, `aws:SourceArn`/`aws:SourceAccount`; EKS user guide, "pod-id-role",
 * "pod-id-abac").
 */
import { authorize } from '../../policy/index.ts'
import { finding, type ScanContext } from '../context.ts'
import type { IamRole, ScanFinding } from '../model.ts'
import {
  evaluatePodIdentity,
  IRSA_ROLE_ANNOTATION,
  POD_IDENTITY_PRINCIPAL,
} from '../reachability.ts'
import { isAdmin } from './permissions.ts'
import { accountOf, actionListed, pushTo } from './util.ts'

const COMPUTE_SERVICES = [
  'ec2.amazonaws.com',
  'ecs-tasks.amazonaws.com',
  'lambda.amazonaws.com',
  'eks.amazonaws.com',
]

function assumeStatements(role: IamRole) {
  return (role.trust.compiled?.model.statements ?? []).filter(
    (st) => st.effect === 'Allow' && actionListed(st, 'sts:AssumeRole'),
  )
}

/** Whether `trust` of `target` lets the role (or user) `source` call sts:AssumeRole, per the engine. */
export function trustAdmits(
  target: IamRole,
  sourceArn: string,
  context: Record<string, string> = {},
): boolean {
  const trust = target.trust.compiled
  if (trust === undefined) return false
  return (
    authorize({
      principal: sourceArn,
      action: 'sts:AssumeRole',
      resource: target.arn,
      context: {
        'aws:PrincipalArn': sourceArn,
        'aws:PrincipalAccount': accountOf(sourceArn),
        ...context,
      },
      identityPolicies: [],
      resourcePolicy: trust,
      resourcePolicyIsGate: true,
    }).decision === 'Allowed'
  )
}

export function checkTrusts(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { iam } = ctx.inputs
  const nodeRoleArns = new Set(
    (ctx.nodeRoles.length > 0
      ? ctx.nodeRoles
      : [...iam.roles.values()].filter(
          (r) =>
            r.instanceProfiles.length > 0 &&
            assumeStatements(r).some((s) => s.principal?.service.includes('ec2.amazonaws.com')),
        )
    ).map((r) => r.arn),
  )
  // Whether some pod-reachable role may call sts:AssumeRole on any role (computed once, on first need).
  let chainable: boolean | undefined
  for (const role of iam.roles.values()) {
    for (const st of assumeStatements(role)) {
      const p = st.principal
      const conditioned = st.conditions.length > 0
      if (st.notPrincipal !== undefined) {
        out.push(
          finding(
            'TRUST-006',
            'high',
            [role.arn],
            `role ${role.name}: Allow with NotPrincipal trusts everyone not listed`,
            'rewrite the statement with Principal naming who may assume the role',
          ),
        )
        continue
      }
      if (p === undefined) continue
      const anyone =
        p.wildcard || p.aws.some((a) => a === '*' || /^arn:aws[\w-]*:iam::\*:root$/.test(a))
      if (anyone) {
        out.push(
          conditioned
            ? finding(
                'TRUST-002',
                'medium',
                [role.arn],
                `role ${role.name} trusts any principal, limited only by conditions (${st.conditions.map((c) => `${c.operator} ${c.key}`).join(', ')})`,
                'name the principals; check the conditions restrict (aws:PrincipalOrgID, …)',
              )
            : finding(
                'TRUST-001',
                'critical',
                [role.arn],
                `role ${role.name} can be assumed by any AWS principal, with no condition`,
                'name the principals that may assume the role',
              ),
        )
      }
      for (const a of p.aws) {
        if (a === '*') continue
        const account = accountOf(a)
        if (!/^\d{12}$/.test(account)) continue
        if (account !== role.accountId && !ctx.knownAccounts.has(account)) {
          const admin = isAdmin(ctx, role)
          out.push(
            finding(
              'TRUST-003',
              admin ? 'high' : 'medium',
              [role.arn, a],
              `role ${role.name} trusts ${a} of account ${account}, outside the known accounts${admin ? '; the role is admin-equivalent' : ''}`,
              'remove the principal, or restrict it and add an sts:ExternalId condition',
            ),
          )
          if (!st.conditions.some((c) => c.key.toLowerCase() === 'sts:externalid')) {
            out.push(
              finding(
                'TRUST-004',
                'medium',
                [role.arn, a],
                `role ${role.name} trusts third-party account ${account} without an sts:ExternalId condition (confused deputy)`,
                `add "StringEquals": {"sts:ExternalId": "<id agreed with the third party>"}`,
              ),
            )
          }
        } else if (account === role.accountId && (/^\d{12}$/.test(a) || /:root$/.test(a))) {
          chainable ??= [...ctx.podReachable.keys()].some((arn) => {
            const src = iam.roles.get(arn)
            return (
              src !== undefined &&
              ctx.oracle.allowsOnAnyResource(ctx.policiesOf(src), 'sts:AssumeRole')
            )
          })
          out.push(
            finding(
              'TRUST-005',
              chainable ? 'high' : 'low',
              [role.arn],
              `role ${role.name} trusts its own account root: every principal of the account whose policies allow sts:AssumeRole on it can assume it${chainable ? ', including a pod-reachable role with sts:AssumeRole on *' : ''}`,
              'name the roles that may assume it',
            ),
          )
        }
        if (nodeRoleArns.has(a)) {
          out.push(
            finding(
              'LEG-003',
              'high',
              [role.arn, a],
              `role ${role.name} trusts the node role ${a}: any process with node credentials (host-network pods, pods reaching IMDS) can assume it`,
              'remove the node role from the trust after migrating from kube2iam/kiam to IRSA or Pod Identity',
            ),
          )
        }
      }
      const compute = p.service.filter((s) => COMPUTE_SERVICES.includes(s))
      if (compute.length > 0) {
        out.push(
          finding(
            'TRUST-007',
            'info',
            [role.arn],
            `role ${role.name} is assumable by compute service(s) ${compute.join(', ')}`,
            'inventory only; see NODE-002 for node roles',
          ),
        )
      }
      if (p.service.includes(POD_IDENTITY_PRINCIPAL)) {
        if (!conditioned) {
          const admin = isAdmin(ctx, role)
          out.push(
            finding(
              'PODID-001',
              admin ? 'high' : 'medium',
              [role.arn],
              `role ${role.name} trusts ${POD_IDENTITY_PRINCIPAL} without conditions: whoever can create a Pod Identity association and pass the role binds it to any ServiceAccount of any cluster in the account`,
              'add conditions on aws:SourceAccount / aws:SourceArn (cluster) and aws:RequestTag/kubernetes-namespace, kubernetes-service-account; restrict iam:PassRole',
            ),
          )
        }
        if (
          !st.conditions.some((c) => /^aws:(SourceAccount|SourceArn|SourceOrgId)$/i.test(c.key))
        ) {
          out.push(
            finding(
              'PODID-005',
              'low',
              [role.arn],
              `role ${role.name}: the ${POD_IDENTITY_PRINCIPAL} trust has no aws:SourceAccount, aws:SourceArn or aws:SourceOrgId condition (confused deputy)`,
              `"StringEquals": {"aws:SourceOrgId": "\${aws:ResourceOrgId}"}, or a cluster aws:SourceArn`,
            ),
          )
        }
        const ifExists = st.conditions.filter(
          (c) => /IfExists$/i.test(c.operator) && /^aws:RequestTag\/kubernetes-/i.test(c.key),
        )
        if (ifExists.length > 0) {
          out.push(
            finding(
              'PODID-004',
              'medium',
              [role.arn],
              `role ${role.name}: ${ifExists.map((c) => `${c.operator} ${c.key}`).join(', ')} passes for any association with session tags disabled`,
              'never use IfExists for identity pinning; keep session tags on roles that rely on them',
            ),
          )
        }
      }
    }
  }

  // Pod Identity associations, evaluated.
  for (const a of ctx.inputs.side.associations ?? []) {
    const sa = `${a.namespace}/${a.serviceAccount}`
    const role = iam.roles.get(a.roleArn)
    if (role === undefined) continue // BIND-008 reports it.
    const assume = evaluatePodIdentity(role, a, 'sts:AssumeRole', ctx.now)
    if (a.disableSessionTags) {
      if (assume?.decision !== 'Allowed') {
        const withTags = evaluatePodIdentity(
          role,
          { ...a, disableSessionTags: false },
          'sts:AssumeRole',
          ctx.now,
        )
        if (withTags?.decision === 'Allowed') {
          out.push(
            finding(
              'PODID-004',
              'medium',
              [role.arn, sa],
              `association ${sa} → ${role.name} disables session tags, but the trust requires aws:RequestTag conditions: the association never works`,
              'enable session tags on the association, or drop the tag conditions',
            ),
          )
        }
      }
    } else if (assume?.decision === 'Allowed') {
      const tag = evaluatePodIdentity(role, a, 'sts:TagSession', ctx.now)
      if (tag?.decision !== 'Allowed') {
        out.push(
          finding(
            'PODID-002',
            'medium',
            [role.arn, sa],
            `association ${sa} → ${role.name}: the trust allows sts:AssumeRole but not sts:TagSession for ${POD_IDENTITY_PRINCIPAL}; EKS tags every session, so credentials fail`,
            `add "sts:TagSession" to the Action of the ${POD_IDENTITY_PRINCIPAL} statement`,
          ),
        )
      }
    }
    if (a.targetRoleArn !== undefined) {
      const target = iam.roles.get(a.targetRoleArn)
      if (target !== undefined && trustAdmits(target, role.arn)) {
        out.push(
          finding(
            'PODID-006',
            'medium',
            [target.arn, role.arn, sa],
            `target role ${target.name} trusts ${role.name} without requiring sts:ExternalId: every holder of ${role.name} can chain to it`,
            `add "StringEquals": {"sts:ExternalId": "${a.externalId ?? '<association externalId>'}"} to the statement trusting ${role.arn}`,
          ),
        )
      }
    }
    const saInfo = ctx.inputs.kube.serviceAccounts.get(sa)
    if (saInfo?.annotations[IRSA_ROLE_ANNOTATION] !== undefined) {
      out.push(
        finding(
          'PODID-007',
          'low',
          [sa, role.arn, saInfo.annotations[IRSA_ROLE_ANNOTATION]!],
          `ServiceAccount ${sa} has both an IRSA annotation and a Pod Identity association: web identity precedes the container provider in the SDKs, so the Pod Identity role ${role.name} is never used`,
          'keep one mechanism: remove the annotation or the association',
        ),
      )
    }
  }

  // PODID-003: ABAC on Pod Identity session tags without the cluster ARN.
  const seen = new Set<string>()
  const policies = [
    ...[...iam.policies.values()].map((p) => p.defaultVersion),
    ...[...iam.roles.values()].flatMap((r) => r.inline),
    ...[...iam.users.values()].flatMap((u) => u.inline),
  ]
  for (const p of policies) {
    if (p?.compiled === undefined || seen.has(p.id)) continue
    seen.add(p.id)
    for (const st of p.compiled.model.statements) {
      const keys = st.conditions.map((c) => c.key.toLowerCase())
      const abac = keys.some((k) =>
        /^aws:principaltag\/kubernetes-(namespace|service-account)$/.test(k),
      )
      if (abac && !keys.includes('aws:principaltag/eks-cluster-arn')) {
        out.push(
          finding(
            'PODID-003',
            'high',
            [p.id],
            `policy ${p.name}: ABAC on kubernetes-namespace/kubernetes-service-account session tags without aws:PrincipalTag/eks-cluster-arn: the same namespace/SA in any other cluster using the role gets the access`,
            'also require "aws:PrincipalTag/eks-cluster-arn": "<cluster ARN>"',
          ),
        )
        break
      }
    }
  }

  out.push(...chainFindings(ctx))
  return out
}

/** TRUST-008: BFS over sts:AssumeRole edges from pod-reachable roles (source allows it, target trust admits it). */
function chainFindings(ctx: ScanContext): ScanFinding[] {
  const { iam } = ctx.inputs
  // Index targets by the AWS principals their trusts name, so only plausible targets are evaluated.
  const byPrincipal = new Map<string, IamRole[]>()
  const open: IamRole[] = []
  for (const role of iam.roles.values()) {
    for (const st of assumeStatements(role)) {
      if (st.notPrincipal !== undefined || st.principal?.wildcard === true) {
        open.push(role)
        continue
      }
      for (const a of st.principal?.aws ?? []) {
        if (a === '*') open.push(role)
        const key = /^\d{12}$/.test(a) ? `arn:aws:iam::${a}:root` : a
        pushTo(byPrincipal, key, role)
      }
    }
  }
  const out: ScanFinding[] = []
  for (const startArn of ctx.podReachable.keys()) {
    const start = iam.roles.get(startArn)
    if (start === undefined) continue
    const seen = new Set([start.arn])
    const queue: { role: IamRole; path: string[] }[] = [{ role: start, path: [start.arn] }]
    const reached: { role: IamRole; path: string[] }[] = []
    while (queue.length > 0) {
      const { role, path } = queue.shift()!
      const candidates = new Set([
        ...(byPrincipal.get(role.arn) ?? []),
        ...(byPrincipal.get(`arn:${role.partition}:iam::${role.accountId}:root`) ?? []),
        ...open,
      ])
      for (const target of candidates) {
        if (seen.has(target.arn)) continue
        const allowed = ctx.oracle.decide(ctx.policiesOf(role), 'sts:AssumeRole', target.arn, {
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': role.accountId,
        })
        if (allowed.decision !== 'Allowed' || !trustAdmits(target, role.arn)) continue
        seen.add(target.arn)
        const next = { role: target, path: [...path, target.arn] }
        reached.push(next)
        queue.push(next)
      }
    }
    for (const r of reached) {
      const admin = isAdmin(ctx, r.role)
      out.push(
        finding(
          'TRUST-008',
          admin ? 'critical' : 'high',
          [start.arn, r.role.arn, ...[...(ctx.podReachable.get(startArn) ?? [])]],
          `pod-reachable role ${start.name} can chain to ${r.role.name} (${r.path.join(' → ')})${admin ? ', which is admin-equivalent' : ''}`,
          `narrow sts:AssumeRole in ${start.name}'s policies and ${r.role.name}'s trust`,
        ),
      )
    }
  }
  return out
}
