/**
 * @module analysis/checks/kube
 * Kubernetes-side checks: long-term credentials (CRED-001…006), ServiceAccount hygiene and RBAC paths to cloud
 * roles (SA-001…006), node credentials and IMDS (NODE-001, 003, 004), legacy mechanisms (LEG-001, 002, 004), and
 * External Secrets Operator / Secrets Store CSI objects mapped to the identities they use.
 * Key formats: access key ids start with AKIA (long-term) or ASIA (temporary) followed by 16 characters
 * (IAM User Guide, "Unique identifiers"); secrets are 40 base64 characters.
 */
import { finding, saKey, type ScanContext } from '../context.ts'
import { isDummyKey, KUBE2IAM_ROLE_ANNOTATION } from '../credentials.ts'
import { describeNode, IMDS_REMEDIATION, imdsExposure } from '../imds.ts'
import type { Container, DataObject, PodSpecInfo, ScanFinding } from '../model.ts'
import { IRSA_ROLE_ANNOTATION } from '../reachability.ts'
import { isAdmin } from './permissions.ts'
import { pushTo } from './util.ts'

const KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/
const SECRET = /(^|[^A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}($|[^A-Za-z0-9/+=])/
const INI_KEYS = /aws_access_key_id\s*=\s*\S+[\s\S]*aws_secret_access_key\s*=\s*\S+/i

function podLabel(pod: PodSpecInfo): string {
  return `${pod.namespace}/${pod.name}`
}

function literalValues(c: Container): string[] {
  return [...c.env.map((e) => e.value ?? ''), ...c.args, ...c.command]
}

function hasKeyPair(values: string[]): boolean {
  const text = values.join('\n')
  return KEY_ID.test(text) && SECRET.test(text)
}

function dataHasKeys(d: DataObject): { pair: boolean; dummy: boolean } {
  const values = Object.values(d.data)
  const keys = Object.keys(d.data).map((k) => k.toUpperCase())
  if (hasKeyPair(values) || values.some((v) => INI_KEYS.test(v)))
    return { pair: true, dummy: false }
  if (keys.includes('AWS_ACCESS_KEY_ID') && keys.includes('AWS_SECRET_ACCESS_KEY')) {
    const id = Object.entries(d.data).find(([k]) => k.toUpperCase() === 'AWS_ACCESS_KEY_ID')![1]
    return { pair: true, dummy: isDummyKey(id) }
  }
  return { pair: false, dummy: false }
}

const UNSAFE_HOST_PATHS = [
  { re: /(^|\/)\.aws(\/|$)/, what: 'AWS credentials (~/.aws)' },
  { re: /^\/etc\/kubernetes\/azure\.json$/, what: 'the Azure cloud-provider credentials' },
  { re: /(^|\/)\.config\/gcloud(\/|$)/, what: 'gcloud credentials' },
  { re: /^\/var\/lib\/kubelet(\/|$)/, what: 'kubelet credentials' },
  { re: /^\/etc\/kubernetes(\/|$)/, what: 'node Kubernetes credentials' },
  { re: /^\/$/, what: 'the whole node filesystem' },
]

export function checkKube(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { kube, iam, side } = ctx.inputs
  const keyUsers = new Map((side.accessKeys ?? []).map((k) => [k.accessKeyId, k]))
  const referencedData = new Map<string, string[]>()
  const ref = (kind: string, ns: string, name: string, pod: string) => {
    const k = `${kind}/${ns}/${name}`
    pushTo(referencedData, k, pod)
  }

  const workloadsBySa = new Map<string, string[]>()
  // SA-002 is reported once per ServiceAccount (every pod of a large Deployment would repeat it).
  const automounted = new Map<string, string[]>()
  for (const pod of kube.pods) {
    const label = podLabel(pod)
    const sa = saKey(pod.namespace, pod.serviceAccountName)
    if (!pod.live) pushTo(workloadsBySa, sa, label)
    const saInfo = kube.serviceAccounts.get(sa)

    for (const v of pod.volumes) {
      if (v.secret !== undefined) ref('Secret', pod.namespace, v.secret, label)
      if (v.configMap !== undefined) ref('ConfigMap', pod.namespace, v.configMap, label)
      for (const s of v.projectedSecrets) ref('Secret', pod.namespace, s, label)
      for (const s of v.projectedConfigMaps) ref('ConfigMap', pod.namespace, s, label)
      if (v.hostPath !== undefined) {
        const unsafe = UNSAFE_HOST_PATHS.find((u) =>
          u.re.test(v.hostPath!.replace(/\/+$/, '') || '/'),
        )
        if (unsafe !== undefined)
          out.push(
            finding(
              'NODE-004',
              'high',
              [label],
              `${label} mounts hostPath ${v.hostPath}, exposing ${unsafe.what}`,
              'remove the hostPath volume',
              [pod.source],
            ),
          )
        if (/(^|\/)\.aws(\/|$)/.test(v.hostPath))
          out.push(
            finding(
              'CRED-004',
              'high',
              [label],
              `${label} mounts the node's ${v.hostPath} (AWS credentials files)`,
              'remove the mount; use IRSA or Pod Identity',
              [pod.source],
            ),
          )
      }
    }

    for (const c of pod.containers) {
      for (const e of c.env) {
        if (e.secretKeyRef !== undefined) ref('Secret', pod.namespace, e.secretKeyRef.name, label)
        if (e.configMapKeyRef !== undefined)
          ref('ConfigMap', pod.namespace, e.configMapKeyRef.name, label)
      }
      for (const f of c.envFrom) {
        if (f.secretRef !== undefined) ref('Secret', pod.namespace, f.secretRef, label)
        if (f.configMapRef !== undefined) ref('ConfigMap', pod.namespace, f.configMapRef, label)
      }
      // CRED-001: literal keys.
      const literals = literalValues(c)
      const secretLiteral = c.env.find(
        (e) => e.name === 'AWS_SECRET_ACCESS_KEY' && e.value !== undefined,
      )
      if (hasKeyPair(literals)) {
        const id = literals.join('\n').match(KEY_ID)![0]
        const user = keyUsers.get(id)
        out.push(
          finding(
            'CRED-001',
            'critical',
            [label, ...(user !== undefined ? [`user ${user.userName}`] : [])],
            `container ${c.name} of ${label} holds a literal AWS access key pair (${id.slice(0, 8)}…)`,
            'delete the keys from the spec, deactivate and rotate them, and use IRSA or Pod Identity',
            [pod.source],
          ),
        )
      } else if (secretLiteral !== undefined) {
        const dummy = isDummyKey(secretLiteral.value!)
        out.push(
          finding(
            'CRED-001',
            dummy ? 'info' : 'critical',
            [label],
            `container ${c.name} of ${label} sets AWS_SECRET_ACCESS_KEY to a literal${dummy ? ' placeholder (not a real key, but it still shadows any workload identity)' : ''}`,
            'remove static keys from the spec',
            [pod.source],
          ),
        )
      }
      // CRED-002: keys injected from Secrets/ConfigMaps.
      const injected: string[] = []
      const injectedFrom: string[] = []
      for (const e of c.env) {
        if (!/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(e.name)) continue
        if (e.secretKeyRef !== undefined) {
          injected.push(`${e.name} from Secret ${e.secretKeyRef.name}`)
          injectedFrom.push(`Secret ${pod.namespace}/${e.secretKeyRef.name}`)
        }
        if (e.configMapKeyRef !== undefined) {
          injected.push(`${e.name} from ConfigMap ${e.configMapKeyRef.name}`)
          injectedFrom.push(`ConfigMap ${pod.namespace}/${e.configMapKeyRef.name}`)
        }
      }
      let dummyOnly = false
      for (const f of c.envFrom) {
        const kind = f.secretRef !== undefined ? 'Secret' : 'ConfigMap'
        const name = f.secretRef ?? f.configMapRef
        const obj = kube.data.find(
          (d) => d.kind === kind && d.namespace === pod.namespace && d.name === name,
        )
        if (obj === undefined) continue
        const keys = dataHasKeys(obj)
        if (keys.pair) {
          injected.push(`AWS keys from ${kind} ${name} (envFrom)`)
          injectedFrom.push(`${kind} ${pod.namespace}/${name}`)
          dummyOnly = keys.dummy
        }
      }
      if (injected.length > 0) {
        out.push(
          finding(
            'CRED-002',
            dummyOnly ? 'info' : 'high',
            [label, sa, ...new Set(injectedFrom)],
            `container ${c.name} of ${label} gets ${injected.join(', ')}${dummyOnly ? ' (placeholder values: not real keys, but they shadow any workload identity in the SDK chain)' : ''}`,
            'remove the keys; rotate them; use IRSA or Pod Identity',
            [pod.source],
          ),
        )
      }
      // CRED-004: credentials files.
      const file = c.env.find(
        (e) => e.name === 'AWS_SHARED_CREDENTIALS_FILE' || e.name === 'AWS_CONFIG_FILE',
      )
      const awsMount = c.volumeMounts.find((m) => /(^|\/)\.aws\/?$/.test(m.mountPath))
      if (file !== undefined || awsMount !== undefined)
        out.push(
          finding(
            'CRED-004',
            'high',
            [label],
            `container ${c.name} of ${label} reads an AWS credentials file (${file !== undefined ? `${file.name}=${file.value ?? '(reference)'}` : `mount at ${awsMount!.mountPath}`})`,
            'remove the file; use IRSA or Pod Identity',
            [pod.source],
          ),
        )
      // CRED-006: other clouds.
      const other = c.env.filter((e) =>
        [
          'AZURE_CLIENT_SECRET',
          'AZURE_CLIENT_CERTIFICATE_PATH',
          'GOOGLE_APPLICATION_CREDENTIALS',
        ].includes(e.name),
      )
      if (other.length > 0)
        out.push(
          finding(
            'CRED-006',
            'high',
            [label],
            `container ${c.name} of ${label} uses long-term cloud credentials (${other.map((e) => e.name).join(', ')})`,
            'use Azure Workload Identity or GKE Workload Identity Federation',
            [pod.source],
          ),
        )
    }

    // SA-001 / SA-002.
    if (pod.serviceAccountName === 'default') {
      const elevated =
        saInfo?.annotations[IRSA_ROLE_ANNOTATION] !== undefined ||
        ctx.associationsBySa.has(sa) ||
        (ctx.irsaBySa.get(sa)?.length ?? 0) > 0
      out.push(
        finding(
          'SA-001',
          elevated ? 'high' : 'low',
          [label, sa],
          `${label} uses the default ServiceAccount${elevated ? ', which maps to a cloud role: every pod of the namespace gets it' : ''}`,
          'create a dedicated ServiceAccount per workload',
          [pod.source],
        ),
      )
    }
    const automount =
      pod.automountServiceAccountToken ?? saInfo?.automountServiceAccountToken ?? true
    if (automount) pushTo(automounted, sa, label)
    // NODE-003 / NODE-001.
    if (pod.hostNetwork)
      out.push(
        finding(
          'NODE-003',
          'medium',
          [label],
          `${label} uses hostNetwork: it reaches IMDS regardless of the hop limit and bypasses NetworkPolicies`,
          'remove hostNetwork: true',
          [pod.source],
        ),
      )
    if (ctx.imdsReachable(pod)) {
      const nodeRoles = ctx.nodeRoles.map((r) => r.arn)
      const broad = ctx.nodeRoles.some(
        (r) => isAdmin(ctx, r) || r.attached.length > 4 || r.inline.length > 0,
      )
      out.push(
        finding(
          'NODE-001',
          broad ? 'high' : 'medium',
          [label, ...nodeRoles],
          `${label} can obtain the node role's credentials through IMDS (${imdsExposure(
            pod,
            side.nodes!,
            kube.networkPolicies,
          )
            .exposing.map(describeNode)
            .slice(0, 3)
            .join('; ')}${pod.hostNetwork ? '; host network' : ''})`,
          IMDS_REMEDIATION,
          [pod.source],
        ),
      )
    }
    // LEG-001 / LEG-004.
    const kube2iam = pod.annotations[KUBE2IAM_ROLE_ANNOTATION]
    if (kube2iam !== undefined) {
      out.push(
        finding(
          'LEG-001',
          'medium',
          [label, kube2iam],
          `${label} uses kube2iam/kiam (iam.amazonaws.com/role: ${kube2iam}), which is deprecated`,
          'migrate to IRSA or EKS Pod Identity',
          [pod.source],
        ),
      )
    }
    if (pod.labels['aadpodidbinding'] !== undefined)
      out.push(
        finding(
          'LEG-004',
          'medium',
          [label],
          `${label} uses AAD Pod Identity (label aadpodidbinding), which is deprecated`,
          'migrate to Azure Workload Identity',
          [pod.source],
        ),
      )
  }

  for (const [sa, pods] of automounted) {
    out.push(
      finding(
        'SA-002',
        'info',
        [sa, ...pods.slice(0, 20)],
        `${pods.length} pod spec(s) of ServiceAccount ${sa} automount a Kubernetes API token (${pods.slice(0, 3).join(', ')}${pods.length > 3 ? ', …' : ''}); IRSA and Pod Identity use their own projected tokens`,
        'set automountServiceAccountToken: false on the ServiceAccount or pods that do not call the Kubernetes API',
      ),
    )
  }

  // LEG-002: kube2iam namespace restrictions.
  const kube2iamNamespaces = new Set(
    kube.pods
      .filter((p) => p.annotations[KUBE2IAM_ROLE_ANNOTATION] !== undefined)
      .map((p) => p.namespace),
  )
  for (const ns of kube.namespaces.values()) {
    const allowed = ns.annotations['iam.amazonaws.com/allowed-roles']
    if (allowed !== undefined && /\*/.test(allowed))
      out.push(
        finding(
          'LEG-002',
          'medium',
          [`namespace ${ns.name}`],
          `namespace ${ns.name}: kube2iam allowed-roles ${allowed.trim()} contains a wildcard`,
          'list the exact roles; run kube2iam with --namespace-restrictions',
        ),
      )
  }
  for (const ns of kube2iamNamespaces) {
    const info = kube.namespaces.get(ns)
    if (info !== undefined && info.annotations['iam.amazonaws.com/allowed-roles'] === undefined)
      out.push(
        finding(
          'LEG-002',
          'medium',
          [`namespace ${ns}`],
          `namespace ${ns} runs kube2iam-annotated pods without iam.amazonaws.com/allowed-roles`,
          'annotate the namespace with the allowed roles; run kube2iam with --namespace-restrictions',
        ),
      )
  }
  for (const obj of kube.others) {
    if (obj.kind === 'AzureIdentity' || obj.kind === 'AzureIdentityBinding')
      out.push(
        finding(
          'LEG-004',
          'medium',
          [`${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`],
          `${obj.kind} ${obj.metadata.name}: AAD Pod Identity is deprecated`,
          'migrate to Azure Workload Identity',
          [obj.source],
        ),
      )
  }

  // CRED-003 / SA-005: data objects.
  for (const d of kube.data) {
    const id = `${d.namespace}/${d.name}`
    const keys = dataHasKeys(d)
    if (keys.pair) {
      const users = Object.values(d.data)
        .flatMap((v) => v.match(new RegExp(KEY_ID.source, 'g')) ?? [])
        .map((k) => keyUsers.get(k))
        .filter((u) => u !== undefined)
      const refs = referencedData.get(`${d.kind}/${d.namespace}/${d.name}`) ?? []
      out.push(
        finding(
          'CRED-003',
          keys.dummy ? 'info' : refs.length > 0 ? 'high' : 'medium',
          [`${d.kind} ${id}`, ...refs, ...users.map((u) => `user ${u!.userName}`)],
          `${d.kind} ${id} holds AWS access keys${keys.dummy ? ' (placeholder values)' : ''}${refs.length > 0 ? `, used by ${refs.join(', ')}` : ', readable by anyone who can get it'}`,
          'delete the keys from the object, rotate them, and use IRSA or Pod Identity',
          [d.source],
        ),
      )
      for (const u of users) {
        const user = [...iam.users.values()].find((x) => x.name === u!.userName)
        if (u!.status === 'Active')
          out.push(
            finding(
              'CRED-005',
              user !== undefined && isAdmin(ctx, user) ? 'high' : 'medium',
              [`user ${u!.userName}`, `${d.kind} ${id}`],
              `active access key ${u!.accessKeyId.slice(0, 8)}… of IAM user ${u!.userName} is stored in ${d.kind} ${id}`,
              `aws iam update-access-key --user-name ${u!.userName} --access-key-id ${u!.accessKeyId} --status Inactive, then replace the user with a workload role`,
            ),
          )
      }
    }
    if (
      d.kind === 'Secret' &&
      Object.values(d.data).some(
        (v) => /"type"\s*:\s*"service_account"/.test(v) && /private_key/.test(v),
      )
    )
      out.push(
        finding(
          'CRED-006',
          'high',
          [`Secret ${id}`],
          `Secret ${id} holds a Google service-account key`,
          'use GKE Workload Identity Federation; delete the key',
          [d.source],
        ),
      )
    if (d.type === 'kubernetes.io/service-account-token')
      out.push(
        finding(
          'SA-005',
          'info',
          [`Secret ${id}`],
          `Secret ${id} is a legacy long-lived ServiceAccount token (never expires; not usable for IRSA)`,
          'delete it when unused',
          [d.source],
        ),
      )
  }

  // CRED-005 without Kubernetes evidence: old active keys (where the access-key inventory exists).
  for (const k of side.accessKeys ?? []) {
    if (k.status !== 'Active' || k.createDate === undefined) continue
    const age = Math.floor((ctx.now.getTime() - k.createDate.getTime()) / 86_400_000)
    const idle =
      k.lastUsed === undefined
        ? undefined
        : Math.floor((ctx.now.getTime() - k.lastUsed.getTime()) / 86_400_000)
    if (age > 90 || (idle !== undefined && idle > 90))
      out.push(
        finding(
          'CRED-005',
          'low',
          [`user ${k.userName}`],
          `active access key ${k.accessKeyId.slice(0, 8)}… of ${k.userName} is ${age} days old${idle !== undefined ? `, last used ${idle} days ago` : ''}`,
          `rotate or deactivate it: aws iam update-access-key --user-name ${k.userName} --access-key-id ${k.accessKeyId} --status Inactive`,
        ),
      )
  }

  // SA-003: one ServiceAccount, several workloads.
  for (const [sa, workloads] of workloadsBySa) {
    if (workloads.length > 1)
      out.push(
        finding(
          'SA-003',
          'low',
          [sa, ...workloads],
          `ServiceAccount ${sa} is shared by ${workloads.length} workloads (${workloads.join(', ')})`,
          'one ServiceAccount per workload',
        ),
      )
  }
  // SA-006: unusual projected-token settings.
  for (const sa of kube.serviceAccounts.values()) {
    const key = saKey(sa.namespace, sa.name)
    const exp =
      sa.annotations['eks.amazonaws.com/token-expiration'] ??
      sa.annotations['azure.workload.identity/service-account-token-expiration']
    if (exp !== undefined && (!/^\d+$/.test(exp) || Number(exp) < 3600 || Number(exp) > 86400))
      out.push(
        finding(
          'SA-006',
          'low',
          [key],
          `ServiceAccount ${key}: token expiration ${exp} is outside 3600–86400 seconds`,
          'remove the annotation (defaults apply)',
        ),
      )
    const aud = sa.annotations['eks.amazonaws.com/audience']
    if (aud !== undefined && aud !== 'sts.amazonaws.com') {
      const accepted = (side.oidcProviders ?? []).some((p) => p.clientIds.includes(aud))
      if (!accepted)
        out.push(
          finding(
            'SA-006',
            'low',
            [key],
            `ServiceAccount ${key}: audience ${aud} is not sts.amazonaws.com${side.oidcProviders !== undefined ? ' and no OIDC provider accepts it' : ''}`,
            'use the default audience sts.amazonaws.com',
          ),
        )
    }
  }

  out.push(...rbacPaths(ctx))
  out.push(...externalSecrets(ctx))
  return out
}

/** SA-004: RBAC subjects that can mint or use a cloud-role-bearing ServiceAccount's token. */
function rbacPaths(ctx: ScanContext): ScanFinding[] {
  const { kube } = ctx.inputs
  if (kube.bindings.length === 0) return []
  const out: ScanFinding[] = []
  const roleSas = new Map<string, string[]>() // namespace → SAs mapped to roles
  for (const sas of ctx.podReachable.values())
    for (const sa of sas) {
      const [ns, name] = sa.split('/') as [string, string]
      roleSas.set(ns, [...new Set([...(roleSas.get(ns) ?? []), name])])
    }
  const rulesOf = (kind: string, name: string, ns?: string) =>
    kube.roles.find(
      (r) => r.kind === kind && r.name === name && (kind === 'ClusterRole' || r.namespace === ns),
    )?.rules ?? []
  const grants = (rules: ReturnType<typeof rulesOf>, verb: string, resource: string) =>
    rules.some(
      (r) =>
        (r.verbs.includes(verb) || r.verbs.includes('*')) &&
        (r.resources.includes(resource) || r.resources.includes('*')),
    )
  const dangerous: [string, string, string][] = [
    ['create', 'serviceaccounts/token', 'mint a token for the ServiceAccount'],
    ['create', 'pods', 'create pods running as the ServiceAccount'],
    ['create', 'deployments', 'create workloads running as the ServiceAccount'],
    ['create', 'pods/exec', 'exec into pods and read their tokens'],
    ['impersonate', 'serviceaccounts', 'impersonate the ServiceAccount'],
    ['patch', 'serviceaccounts', 're-annotate ServiceAccounts'],
    ['escalate', 'roles', 'escalate RBAC'],
    ['bind', 'roles', 'bind any role'],
  ]
  for (const b of kube.bindings) {
    const rules = rulesOf(b.roleRef.kind, b.roleRef.name, b.namespace)
    const namespaces =
      b.kind === 'ClusterRoleBinding'
        ? [...roleSas.keys()]
        : b.namespace !== undefined && roleSas.has(b.namespace)
          ? [b.namespace]
          : []
    for (const ns of namespaces) {
      const abilities = dangerous
        .filter(([verb, res]) => grants(rules, verb, res))
        .map(([, , what]) => what)
      if (abilities.length === 0) continue
      for (const s of b.subjects) {
        const subject =
          s.kind === 'ServiceAccount'
            ? `${s.namespace ?? b.namespace ?? 'default'}/${s.name}`
            : `${s.kind} ${s.name}`
        const broad = /^system:(authenticated|serviceaccounts|unauthenticated)/.test(s.name)
        out.push(
          finding(
            'SA-004',
            broad ? 'critical' : 'high',
            [subject, ...roleSas.get(ns)!.map((n) => `${ns}/${n}`)],
            `${subject} can ${abilities.join(', ')} in namespace ${ns} (via ${b.kind} ${b.name}), where ServiceAccounts ${roleSas.get(ns)!.join(', ')} map to cloud roles`,
            'grant these verbs only to the controllers that need them',
          ),
        )
      }
    }
  }
  return out
}

/**
 * External Secrets Operator stores (SecretStore/ClusterSecretStore, provider aws) and Secrets Store CSI
 * SecretProviderClasses: which identity they use. Static keys in a store's `auth.secretRef` are CRED-002; a JWT
 * ServiceAccountRef uses that ServiceAccount's IRSA roles.
 */
function externalSecrets(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  for (const obj of ctx.inputs.kube.others) {
    if (obj.kind !== 'SecretStore' && obj.kind !== 'ClusterSecretStore') continue
    const spec = obj.raw.spec as Record<string, unknown> | undefined
    const provider = (spec?.provider as Record<string, unknown> | undefined)?.aws as
      Record<string, unknown> | undefined
    if (provider === undefined) continue
    const auth = provider.auth as Record<string, unknown> | undefined
    const id = `${obj.metadata.namespace ?? 'cluster'}/${obj.metadata.name}`
    if (auth?.secretRef !== undefined)
      out.push(
        finding(
          'CRED-002',
          'high',
          [`${obj.kind} ${id}`],
          `${obj.kind} ${id} reads AWS Secrets Manager/Parameter Store with static keys from a Secret (auth.secretRef)`,
          'use auth.jwt.serviceAccountRef (IRSA) instead of static keys',
          [obj.source],
        ),
      )
  }
  return out
}
