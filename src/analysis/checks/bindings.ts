/**
 * @module analysis/checks/bindings
 * Bindings between Kubernetes and IAM (BIND-001…009). A binding is judged by evaluating the annotated role's trust
 * with the ServiceAccount's token claims (EKS user guide, "Configure a Kubernetes service account to assume an IAM
 * role"); the reason for a broken one is the engine's explanation of the statement that failed.
 */
import { finding, saKey, type ScanContext } from '../context.ts'
import type { IamRole, ScanFinding, ServiceAccountInfo } from '../model.ts'
import {
  audienceOf,
  DEFAULT_AUDIENCE,
  evaluatePodIdentity,
  evaluateWebIdentity,
  IRSA_ROLE_ANNOTATION,
  isMultiTenantIssuer,
  POD_IDENTITY_PRINCIPAL,
  subjectOf,
} from '../reachability.ts'
import { oidcStatements, PROBE } from './oidc.ts'
import { isAdmin, privescMethods } from './permissions.ts'
import { pushTo } from './util.ts'

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:role\/[\w+=,.@/-]+$/

function nearestSubs(role: IamRole, url: string): string[] {
  const key = `${url}:sub`.toLowerCase()
  return (role.trust.compiled?.model.statements ?? []).flatMap((st) =>
    st.conditions.filter((c) => c.key.toLowerCase() === key).flatMap((c) => c.values),
  )
}

/** Why the role's trust does not admit the ServiceAccount, from the engine's explanation. */
export function brokenBindingReason(
  ctx: ScanContext,
  sa: ServiceAccountInfo,
  role: IamRole,
): { reason: string; fix: string } {
  const sub = subjectOf(sa.namespace, sa.name)
  const aud = audienceOf(sa)
  const statements = oidcStatements(role).filter((s) => !isMultiTenantIssuer(s.url))
  if (role.trust.compiled === undefined)
    return {
      reason: `the trust policy of ${role.name} could not be read (${role.trust.error ?? 'invalid'})`,
      fix: 'fix the trust policy document',
    }
  if (statements.length === 0)
    return {
      reason: `the trust of ${role.name} has no Allow for sts:AssumeRoleWithWebIdentity from an OIDC provider`,
      fix: `add a statement with "Principal": {"Federated": "<cluster's oidc-provider ARN>"} and "Action": "sts:AssumeRoleWithWebIdentity"`,
    }
  const clusterUrls = new Set(ctx.providers.map((p) => p.arn))
  const usable = statements.filter((s) => clusterUrls.has(s.providerArn))
  if (usable.length === 0) {
    const missing = statements.find(
      (s) =>
        ctx.inputs.side.oidcProviders !== undefined &&
        !ctx.inputs.side.oidcProviders.some((p) => p.arn === s.providerArn),
    )
    if (missing !== undefined)
      return {
        reason: `the trust names OIDC provider ${missing.url}, which does not exist in the account`,
        fix: `aws iam create-open-id-connect-provider --url https://${missing.url} --client-id-list sts.amazonaws.com`,
      }
    return {
      reason: `the trust names provider(s) ${statements.map((s) => s.url).join(', ')}, not this cluster's issuer`,
      fix: 'add a statement for the cluster’s OIDC provider',
    }
  }
  const provider = ctx.providers.find((p) => p.arn === usable[0]!.providerArn)!
  if (provider.clientIds !== undefined && !provider.clientIds.includes(aud))
    return {
      reason: `token audience ${aud} is not in the ClientIDList of ${provider.url} (${provider.clientIds.join(', ')}): STS answers InvalidIdentityToken "Incorrect token audience"`,
      fix: `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --client-id ${aud}`,
    }
  const result = evaluateWebIdentity(role, provider, { sub, aud }, ctx.now)
  const failed = result?.unmatched.find((m) => m.element === 'Condition') ?? result?.unmatched[0]
  const denied = result?.decision === 'ExplicitlyDenied'
  const subs = nearestSubs(role, provider.url)
  return {
    reason: denied
      ? `an explicit Deny in the trust of ${role.name} matches ${sub}`
      : `the trust of ${role.name} does not admit ${sub} (aud ${aud})${failed?.detail !== undefined ? `: ${failed.detail} failed` : ''}${subs.length > 0 ? `; it expects sub ${subs.join(' or ')}` : ''}`,
    fix: `set "StringEquals": {"${provider.url}:sub": "${sub}", "${provider.url}:aud": "${aud}"} in the trust of ${role.name} (aws iam update-assume-role-policy), or annotate the ServiceAccount with the right role`,
  }
}

export function checkBindings(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { kube, iam, side } = ctx.inputs
  const referenced = new Set<string>()
  const podsBySa = new Map<string, number>()
  for (const pod of kube.pods) {
    const k = saKey(pod.namespace, pod.serviceAccountName)
    podsBySa.set(k, (podsBySa.get(k) ?? 0) + 1)
  }

  // Roles whose trust admits any ServiceAccount (a probe subject is allowed) are reported once each, not per SA.
  const openCache = new Map<IamRole, boolean>()
  const isOpen = (role: IamRole): boolean => {
    let open = openCache.get(role)
    if (open === undefined) {
      open = ctx.providers.some(
        (p) =>
          evaluateWebIdentity(
            role,
            p,
            { sub: subjectOf(PROBE, PROBE), aud: DEFAULT_AUDIENCE },
            ctx.now,
          )?.decision === 'Allowed',
      )
      openCache.set(role, open)
    }
    return open
  }
  const openHidden = new Map<IamRole, string[]>()
  for (const sa of kube.serviceAccounts.values()) {
    const key = saKey(sa.namespace, sa.name)
    const annotated = sa.annotations[IRSA_ROLE_ANNOTATION]
    const reachable = ctx.irsaBySa.get(key) ?? []
    if (annotated !== undefined) {
      referenced.add(annotated)
      if (!ROLE_ARN.test(annotated.trim())) {
        const placeholder = /\$\{|\$\(|<|xxxx/i.test(annotated)
        out.push(
          finding(
            'BIND-002',
            placeholder ? 'medium' : 'low',
            [key],
            `ServiceAccount ${key}: ${IRSA_ROLE_ANNOTATION} ${JSON.stringify(annotated)} is not a valid role ARN${placeholder ? ' (an unrendered placeholder or masked value)' : ''}; the SDK fails with a web identity error`,
            'set the annotation to the role ARN (arn:aws:iam::<account>:role/<name>) and restart the pods',
            [sa.source],
          ),
        )
      } else {
        const role = iam.roles.get(annotated.trim())
        const account = annotated.split(':')[4]!
        if (role === undefined) {
          if (iam.accounts.has(account))
            out.push(
              finding(
                'BIND-002',
                'low',
                [key, annotated],
                `ServiceAccount ${key} names role ${annotated}, which does not exist in account ${account}`,
                'create the role or delete the stale annotation',
                [sa.source],
              ),
            )
        } else if (!reachable.includes(role)) {
          const { reason, fix } = brokenBindingReason(ctx, sa, role)
          out.push(
            finding(
              'BIND-001',
              'medium',
              [key, role.arn],
              `ServiceAccount ${key} is annotated with ${role.name} but cannot assume it: ${reason}`,
              fix,
              [sa.source],
            ),
          )
        }
      }
      if (kube.pods.length > 0 && !podsBySa.has(key))
        out.push(
          finding(
            'BIND-006',
            'info',
            [key, annotated],
            `ServiceAccount ${key} is annotated with a role but no pod in the inputs uses it`,
            'delete the annotation (or the ServiceAccount) if unused',
          ),
        )
    }
    // BIND-003: hidden reachability.
    const annotatedRole = annotated === undefined ? undefined : iam.roles.get(annotated.trim())
    for (const role of reachable) {
      if (role === annotatedRole) continue
      if (isOpen(role)) {
        pushTo(openHidden, role, key)
        continue
      }
      const stronger =
        isAdmin(ctx, role) ||
        (privescMethods(ctx, role).length > 0 &&
          (annotatedRole === undefined || privescMethods(ctx, annotatedRole).length === 0))
      out.push(
        finding(
          'BIND-003',
          stronger ? 'high' : 'medium',
          [key, role.arn],
          `ServiceAccount ${key} can assume ${role.name}, which ${annotatedRole === undefined ? 'no annotation names' : `its annotation (${annotatedRole.name}) does not name`}: any pod of the ServiceAccount with an STS-audience token can use it`,
          `tighten the trust of ${role.name} to exactly the ServiceAccount(s) meant to use it`,
          [sa.source],
        ),
      )
    }
  }

  for (const [role, sas] of openHidden) {
    out.push(
      finding(
        'BIND-003',
        isAdmin(ctx, role) || privescMethods(ctx, role).length > 0 ? 'high' : 'medium',
        [role.arn, ...sas],
        `role ${role.name} admits any ServiceAccount of the cluster (see IRSA-001/002): ${sas.length} ServiceAccount(s) in the inputs can assume it without any annotation naming it (${sas.slice(0, 5).join(', ')}${sas.length > 5 ? ', …' : ''})`,
        `pin the trust of ${role.name} to the ServiceAccount(s) meant to use it`,
      ),
    )
  }

  // BIND-004, BIND-005, BIND-009 on pods.
  for (const pod of kube.pods) {
    const key = saKey(pod.namespace, pod.serviceAccountName)
    const podName = pod.live ? `${pod.namespace}/${pod.name}` : `${pod.namespace}/${pod.name}`
    const sa = kube.serviceAccounts.get(key)
    const creds = ctx.credentials.get(pod) ?? []
    if (pod.live && sa?.annotations[IRSA_ROLE_ANNOTATION] !== undefined) {
      const mutated =
        pod.containers.some((c) => c.env.some((e) => e.name === 'AWS_ROLE_ARN')) ||
        pod.volumes.some((v) => v.tokenAudiences.includes(audienceOf(sa)))
      if (!mutated) {
        const imds = ctx.imdsReachable(pod)
        out.push(
          finding(
            'BIND-004',
            imds ? 'high' : 'medium',
            [podName, key],
            `pod ${podName} runs as ${key}, which is annotated for IRSA, but was not mutated (no AWS_ROLE_ARN, no projected sts.amazonaws.com token): it was created before the annotation or while the webhook was down${imds ? '; it falls back to the node role through IMDS' : ''}`,
            `kubectl -n ${pod.namespace} delete pod ${pod.name} (or kubectl -n ${pod.namespace} rollout restart deployment/<owner>) so the webhook injects the credentials`,
            [pod.source],
          ),
        )
      }
    }
    for (const c of creds) {
      const identity = c.irsa ? 'IRSA' : c.podIdentity ? 'Pod Identity' : undefined
      if (identity === undefined) continue
      const shadowPy = c.python === 'env-keys' || c.python === 'shared-credentials-file'
      const shadowJs = c.javascript === 'env-keys' || c.javascript === 'shared-credentials-file'
      if (shadowPy || shadowJs) {
        const what =
          c.envKeys !== undefined
            ? `AWS keys from ${c.envKeys.via}${c.envKeys.dummy ? ' (placeholder values: calls fail)' : ''}`
            : `shared credentials file ${c.sharedFile ?? '(AWS_PROFILE)'}`
        const sdks = [
          shadowPy ? `botocore/AWS CLI use ${c.python}` : '',
          shadowJs ? `JS SDK v3 uses ${c.javascript}` : '',
        ]
          .filter(Boolean)
          .join('; ')
        out.push(
          finding(
            'BIND-005',
            'high',
            [podName, key],
            `container ${c.container} of ${podName} has ${identity} but ${what} shadow it: ${sdks}`,
            'remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and mounted ~/.aws files from the container',
            [pod.source],
          ),
        )
      }
    }
    const first = creds.find((c) => c.container !== '') ?? creds[0]
    if (first !== undefined) {
      const mechanisms = [
        first.irsa && 'IRSA',
        first.podIdentity && 'Pod Identity',
        first.kube2iam && 'kube2iam',
        first.envKeys && 'static keys',
        first.sharedFile !== undefined && 'credentials file',
      ].filter(Boolean)
      if (mechanisms.length > 1)
        out.push(
          finding(
            'BIND-009',
            'info',
            [podName],
            `pod ${podName} has several credential mechanisms (${mechanisms.join(', ')}); botocore uses ${first.python}, JS v3 ${first.javascript}`,
            'keep one mechanism',
          ),
        )
    }
  }

  // BIND-006 (a, b): roles shaped for workloads that nothing binds, or unused.
  const associated = new Set(
    (side.associations ?? []).flatMap((a) => [a.roleArn, a.targetRoleArn ?? '']),
  )
  const unusedDays = ctx.options.unusedDays ?? 90
  for (const role of iam.roles.values()) {
    const workloadShaped =
      oidcStatements(role).some((s) => !isMultiTenantIssuer(s.url)) ||
      (role.trust.compiled?.model.statements ?? []).some((st) =>
        st.principal?.service.includes(POD_IDENTITY_PRINCIPAL),
      )
    if (!workloadShaped) continue
    if (
      kube.serviceAccounts.size > 0 &&
      !referenced.has(role.arn) &&
      !associated.has(role.arn) &&
      !ctx.podReachable.has(role.arn)
    )
      out.push(
        finding(
          'BIND-006',
          'low',
          [role.arn],
          `workload role ${role.name} is not bound to any ServiceAccount in the inputs (no annotation, association or reachable ServiceAccount)`,
          'delete the role if it belongs to no cluster',
        ),
      )
    if (role.lastUsedKnown) {
      const last = role.lastUsed
      const days =
        last === undefined
          ? undefined
          : Math.floor((ctx.now.getTime() - last.getTime()) / 86_400_000)
      if (last === undefined || days! > unusedDays)
        out.push(
          finding(
            'BIND-006',
            'info',
            [role.arn],
            `workload role ${role.name} ${last === undefined ? 'was never used' : `was last used ${days} days ago`} (RoleLastUsed)`,
            'delete unused workload roles',
          ),
        )
    }
  }

  // BIND-007: one role, many ServiceAccounts.
  for (const [arn, sas] of ctx.podReachable) {
    if (sas.size < 2) continue
    const namespaces = new Set([...sas].map((s) => s.split('/')[0]))
    out.push(
      finding(
        'BIND-007',
        namespaces.size > 1 ? 'medium' : 'low',
        [arn, ...[...sas].slice(0, 20)],
        `role ${arn.slice(arn.lastIndexOf('/') + 1)} is reachable from ${sas.size} ServiceAccounts in ${namespaces.size} namespace(s): every pod of each gets all of the role's permissions`,
        'one role per application',
      ),
    )
  }

  // BIND-008: invalid Pod Identity associations.
  for (const a of side.associations ?? []) {
    const key = saKey(a.namespace, a.serviceAccount)
    const problems: string[] = []
    const nsKnown =
      kube.namespaces.has(a.namespace) ||
      [...kube.serviceAccounts.values()].some((s) => s.namespace === a.namespace)
    if (nsKnown && !kube.serviceAccounts.has(key))
      problems.push(`ServiceAccount ${key} does not exist`)
    const clusterAccount = a.clusterArn?.split(':')[4]
    const roleAccount = a.roleArn.split(':')[4]
    if (clusterAccount !== undefined && roleAccount !== clusterAccount)
      problems.push(
        `role ${a.roleArn} is in another account than the cluster (only targetRoleArn may be cross-account)`,
      )
    const role = iam.roles.get(a.roleArn)
    if (role === undefined && iam.accounts.has(roleAccount ?? ''))
      problems.push(`role ${a.roleArn} does not exist`)
    if (
      role !== undefined &&
      evaluatePodIdentity(role, a, 'sts:AssumeRole', ctx.now)?.decision !== 'Allowed'
    )
      problems.push(
        `the trust of ${role.name} does not allow sts:AssumeRole for ${POD_IDENTITY_PRINCIPAL} with this association's context`,
      )
    if (problems.length > 0)
      out.push(
        finding(
          'BIND-008',
          'medium',
          [key, a.roleArn],
          `Pod Identity association ${key} → ${a.roleArn}: ${problems.join('; ')}`,
          `fix the association (aws eks update-pod-identity-association) or the role trust ({"Effect":"Allow","Principal":{"Service":"${POD_IDENTITY_PRINCIPAL}"},"Action":["sts:AssumeRole","sts:TagSession"]})`,
        ),
      )
  }
  return out
}
