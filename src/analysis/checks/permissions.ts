/**
 * @module analysis/checks/permissions
 * Permission checks on the principals pods can reach (PERM-001…014 except PERM-003, NODE-002, NODE-005), with the
 * decisions from the engine through the permission oracle (identity ∩ boundary, minus explicit Deny, no request
 * context). Action sets:
 * - privilege escalation: Rhino Security Labs' 21 methods
 *   (https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/) and pathfinding.cloud paths
 *   (https://pathfinding.cloud) for EC2, ECS, CodeBuild, SageMaker, SSM, CloudFormation, Glue, Lambda;
 * - credential-returning, data-exfiltration and resource-exposure actions as classified by salesforce/cloudsplaining
 *   (https://github.com/salesforce/cloudsplaining, "Risks" glossary).
 */
import { validatePolicy } from '../../policy/index.ts'
import { finding, type ScanContext } from '../context.ts'
import type { IamRole, IamUser, RolePermissionSummary, ScanFinding } from '../model.ts'
import { POD_IDENTITY_PRINCIPAL } from '../reachability.ts'

export const PRIVESC_METHODS: Record<string, string[]> = {
  CreateNewPolicyVersion: ['iam:CreatePolicyVersion'],
  SetExistingDefaultPolicyVersion: ['iam:SetDefaultPolicyVersion'],
  CreateAccessKey: ['iam:CreateAccessKey'],
  CreateLoginProfile: ['iam:CreateLoginProfile'],
  UpdateLoginProfile: ['iam:UpdateLoginProfile'],
  AttachUserPolicy: ['iam:AttachUserPolicy'],
  AttachGroupPolicy: ['iam:AttachGroupPolicy'],
  AttachRolePolicy: ['iam:AttachRolePolicy'],
  PutUserPolicy: ['iam:PutUserPolicy'],
  PutGroupPolicy: ['iam:PutGroupPolicy'],
  PutRolePolicy: ['iam:PutRolePolicy'],
  AddUserToGroup: ['iam:AddUserToGroup'],
  UpdateRolePolicyToAssumeIt: ['iam:UpdateAssumeRolePolicy'],
  CreateEC2WithExistingIP: ['iam:PassRole', 'ec2:RunInstances'],
  PassExistingRoleToNewLambdaThenInvoke: [
    'iam:PassRole',
    'lambda:CreateFunction',
    'lambda:InvokeFunction',
  ],
  PassExistingRoleToNewLambdaThenTriggerWithNewDynamo: [
    'iam:PassRole',
    'lambda:CreateFunction',
    'lambda:CreateEventSourceMapping',
    'dynamodb:CreateTable',
    'dynamodb:PutItem',
  ],
  PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo: [
    'iam:PassRole',
    'lambda:CreateFunction',
    'lambda:CreateEventSourceMapping',
  ],
  PassExistingRoleToNewGlueDevEndpoint: ['iam:PassRole', 'glue:CreateDevEndpoint'],
  UpdateExistingGlueDevEndpoint: ['glue:UpdateDevEndpoint'],
  PassExistingRoleToCloudFormation: ['iam:PassRole', 'cloudformation:CreateStack'],
  PassExistingRoleToNewDataPipeline: ['iam:PassRole', 'datapipeline:CreatePipeline'],
  EditExistingLambdaFunctionWithRole: ['lambda:UpdateFunctionCode'],
  UpdateExistingCloudFormationStack: ['cloudformation:UpdateStack'],
  PassExistingRoleToNewCodeBuildProject: [
    'iam:PassRole',
    'codebuild:CreateProject',
    'codebuild:StartBuild',
  ],
  EC2InstanceConnectSendSSHPublicKey: [
    'ec2-instance-connect:SendSSHPublicKey',
    'ec2:DescribeInstances',
  ],
  PassExistingRoleToNewSageMakerNotebookInstance: [
    'iam:PassRole',
    'sagemaker:CreateNotebookInstance',
  ],
  PassExistingRoleToNewSageMakerTrainingJob: ['iam:PassRole', 'sagemaker:CreateTrainingJob'],
  PassExistingRoleToNewSageMakerProcessingJob: ['iam:PassRole', 'sagemaker:CreateProcessingJob'],
  CreatePresignedSageMakerNotebookUrl: ['sagemaker:CreatePresignedNotebookInstanceUrl'],
  SSMStartSession: ['ssm:StartSession'],
  SSMSendCommand: ['ssm:SendCommand'],
  PassExistingRoleToNewECSTaskViaRunTask: [
    'iam:PassRole',
    'ecs:RegisterTaskDefinition',
    'ecs:RunTask',
  ],
  ECSExecuteCommandOnRunningTask: ['ecs:ExecuteCommand', 'ecs:DescribeTasks'],
}

const CREDENTIAL_ACTIONS = [
  'iam:CreateAccessKey',
  'sts:AssumeRole',
  'ecr:GetAuthorizationToken',
  'rds-db:connect',
  'redshift:GetClusterCredentials',
  'sso:GetRoleCredentials',
  'ec2:GetPasswordData',
  'iam:CreateServiceSpecificCredential',
  'codeartifact:GetAuthorizationToken',
  'lightsail:GetInstanceAccessDetails',
]
/** Data reads cloudsplaining counts as exfiltration (also PERM-003's always-included reads). */
export const EXFIL_ACTIONS = [
  's3:GetObject',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'secretsmanager:GetSecretValue',
  'rds:CopyDBSnapshot',
  'rds:CreateDBSnapshot',
]
const EXPOSURE_ACTIONS = [
  's3:PutBucketPolicy',
  's3:PutBucketAcl',
  's3:PutObjectAcl',
  'ecr:SetRepositoryPolicy',
  'iam:UpdateAssumeRolePolicy',
  'kms:PutKeyPolicy',
  'kms:CreateGrant',
  'secretsmanager:PutResourcePolicy',
  'lambda:AddPermission',
  'sqs:AddPermission',
  'sns:AddPermission',
  'glacier:SetVaultAccessPolicy',
  'ram:CreateResourceShare',
]
const EKS_ESCALATION = {
  association: ['eks:CreatePodIdentityAssociation', 'eks:UpdatePodIdentityAssociation'],
  access: ['eks:CreateAccessEntry', 'eks:AssociateAccessPolicy', 'eks:UpdateAccessEntry'],
}
const STANDARD_NODE_POLICIES = new Set([
  'AmazonEKSWorkerNodePolicy',
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonEC2ContainerRegistryPullOnly',
  'AmazonEKS_CNI_Policy',
  'AmazonSSMManagedInstanceCore',
  'AmazonEKSWorkerNodeMinimalPolicy',
])
/** An action only `*` (or a NotAction) can match: allowed on any resource ⇔ the principal has `*` on `*`. */
const ANY_ACTION_PROBE = 'zzpodtrustprobe:ZzPodtrustProbe'

type Principal = IamRole | IamUser

const adminCache = new WeakMap<ScanContext, Map<string, boolean>>()

/**
 * Admin-equivalent: `*` on `*`, AdministratorAccess attached, or able to grant itself anything (put or attach a
 * policy on itself), as PMapper's `update_admin_status` counts it.
 */
export function isAdmin(ctx: ScanContext, principal: Principal): boolean {
  let cache = adminCache.get(ctx)
  if (cache === undefined) adminCache.set(ctx, (cache = new Map()))
  const hit = cache.get(principal.arn)
  if (hit !== undefined) return hit
  const p = ctx.policiesOf(principal)
  const isRole = !('groups' in principal)
  const self = (action: string) =>
    ctx.oracle.decide(p, action, principal.arn).decision === 'Allowed'
  const admin =
    ctx.oracle.allowsOnAnyResource(p, ANY_ACTION_PROBE) ||
    (principal.attached.some((a) => /:policy\/AdministratorAccess$/.test(a)) &&
      p.boundary === undefined) ||
    (isRole
      ? self('iam:PutRolePolicy') || self('iam:AttachRolePolicy')
      : self('iam:PutUserPolicy') || self('iam:AttachUserPolicy'))
  cache.set(principal.arn, admin)
  return admin
}

export function privescMethods(ctx: ScanContext, principal: Principal): string[] {
  const p = ctx.policiesOf(principal)
  return Object.entries(PRIVESC_METHODS)
    .filter(([, actions]) => actions.every((a) => ctx.oracle.allowsOnAnyResource(p, a)))
    .map(([name]) => name)
}

export function describe(ctx: ScanContext, principal: Principal): string {
  const sas = ctx.podReachable.get(principal.arn)
  if (sas !== undefined && sas.size > 0) {
    const list = [...sas].slice(0, 5).join(', ')
    return `${principal.arn} (reachable from ${list}${sas.size > 5 ? ` and ${sas.size - 5} more` : ''})`
  }
  return principal.arn
}

export function objectsOf(ctx: ScanContext, principal: Principal): string[] {
  return [principal.arn, ...[...(ctx.podReachable.get(principal.arn) ?? [])].slice(0, 20)]
}

export function checkPermissions(ctx: ScanContext): {
  findings: ScanFinding[]
  summaries: RolePermissionSummary[]
} {
  const out: ScanFinding[] = []
  const summaries: RolePermissionSummary[] = []
  const principals = ctx.auditedPrincipals()
  let done = 0
  for (const principal of principals) {
    done++
    if (done % 500 === 0) ctx.options.onProgress?.('permissions', done, principals.length)
    const p = ctx.policiesOf(principal)
    if (p.identity.length === 0) continue
    const any = (a: string) => ctx.oracle.allowsOnAnyResource(p, a)
    const name = describe(ctx, principal)
    const objects = objectsOf(ctx, principal)
    const admin = isAdmin(ctx, principal)
    const methods = admin ? [] : privescMethods(ctx, principal)
    const reachable = ctx.podReachable.has(principal.arn)
    const unrestricted = [
      ...CREDENTIAL_ACTIONS,
      ...EXFIL_ACTIONS,
      ...EXPOSURE_ACTIONS,
      'iam:PassRole',
      'kms:Decrypt',
    ].filter(any)
    summaries.push({ role: principal.arn, unrestricted, admin, privilegeEscalation: methods })

    if (admin) {
      out.push(
        finding(
          'PERM-001',
          'critical',
          objects,
          `${name} has full administrative privileges`,
          'grant least privilege: list the actions and resources the workload needs',
        ),
      )
    } else if (methods.length > 0) {
      out.push(
        finding(
          'PERM-007',
          reachable ? 'critical' : 'high',
          objects,
          `${name} can escalate privileges: ${methods.join(', ')}`,
          'remove the combination, or add a Deny or a permissions boundary',
        ),
      )
    }

    // Statement-shape checks (PERM-002/004/005/006/014), on the statements that apply without conditions.
    const statementFlags = new Set<string>()
    for (const policy of p.identity) {
      for (const st of policy.model.statements) {
        if (st.effect !== 'Allow') continue
        const unconditioned = st.conditions.length === 0
        if (unconditioned && st.action !== undefined && !admin) {
          // A wildcard an explicit Deny takes back grants nothing (cloudsplaining's fp1/fp2 cases).
          const live = st.action.filter(
            (a) =>
              (a === '*' || /^[\w-]+:\*$/.test(a)) &&
              ctx.oracle.decide(
                p,
                a === '*' ? ANY_ACTION_PROBE : a.replace(/\*$/, 'ZzPodtrustProbe'),
                '*',
              ).decision !== 'ExplicitlyDenied',
          )
          if (live.length > 0) statementFlags.add(`PERM-002:${live.join(', ')}`)
        }
        if (st.notAction !== undefined)
          statementFlags.add(
            `PERM-004:${st.resource?.includes('*') === true ? 'high' : 'medium'}:${st.notAction.join(', ')}`,
          )
        if (st.notResource !== undefined) statementFlags.add(`PERM-005:${policy.id}`)
        if (
          st.resource?.some((r) => /^arn:aws[\w-]*:iam::\*:role\/\*$/.test(r)) &&
          (st.action ?? []).some((a) => /^iam:(\*|pass\*|passrole)$/i.test(a) || a === '*')
        )
          statementFlags.add('PERM-006:glob')
      }
    }
    for (const flag of statementFlags) {
      const [id, ...rest] = flag.split(':')
      if (id === 'PERM-002')
        out.push(
          finding(
            'PERM-002',
            'medium',
            objects,
            `${name} is allowed service-wide wildcards: ${rest.join(':')}`,
            'list the actions the workload uses',
          ),
        )
      if (id === 'PERM-004')
        out.push(
          finding(
            'PERM-004',
            rest[0] as 'high' | 'medium',
            objects,
            `${name} has Allow with NotAction (${rest.slice(1).join(':')}): everything else is allowed`,
            'use Action with the actions needed',
          ),
        )
      if (id === 'PERM-005')
        out.push(
          finding(
            'PERM-005',
            'medium',
            objects,
            `${name} has Allow with NotResource in ${rest.join(':')}`,
            'use Resource with the resources needed',
          ),
        )
    }
    if (any('iam:PassRole') || statementFlags.has('PERM-006:glob')) {
      const toServices = [
        'ec2.amazonaws.com',
        'lambda.amazonaws.com',
        'ecs-tasks.amazonaws.com',
        POD_IDENTITY_PRINCIPAL,
      ]
      out.push(
        finding(
          'PERM-006',
          admin ? 'critical' : 'high',
          objects,
          `${name} can pass any role (iam:PassRole on *)${toServices.length > 0 ? '' : ''}`,
          'list the role ARNs that may be passed and add an iam:PassedToService condition',
        ),
      )
    }
    const exfil = EXFIL_ACTIONS.filter(any)
    if (exfil.length > 0 && !admin)
      out.push(
        finding(
          'PERM-008',
          'medium',
          objects,
          `${name} can read data on any resource: ${exfil.join(', ')}`,
          'restrict these actions to the resource ARNs the workload needs',
        ),
      )
    const exposure = EXPOSURE_ACTIONS.filter(any)
    if (exposure.length > 0 && !admin)
      out.push(
        finding(
          'PERM-009',
          'high',
          objects,
          `${name} can change resource policies on any resource: ${exposure.join(', ')}`,
          'give permissions-management actions to an admin pipeline, not to workloads',
        ),
      )
    const creds = CREDENTIAL_ACTIONS.filter(any)
    if (creds.length > 0 && !admin)
      out.push(
        finding(
          'PERM-010',
          'high',
          objects,
          `${name} can obtain credentials on any resource: ${creds.join(', ')}`,
          'restrict these actions to specific resources',
        ),
      )
    const eks: string[] = []
    if (EKS_ESCALATION.association.some(any) && any('iam:PassRole'))
      eks.push('create Pod Identity associations with any passable role')
    if (EKS_ESCALATION.access.some(any))
      eks.push('create access entries / associate access policies (cluster admin)')
    if (any('iam:UpdateAssumeRolePolicy'))
      eks.push('rewrite any role trust (add its own issuer or subject)')
    if (
      any('iam:CreateOpenIDConnectProvider') &&
      (any('iam:UpdateAssumeRolePolicy') || (any('iam:CreateRole') && any('iam:PassRole')))
    )
      eks.push('register an attacker-controlled OIDC issuer')
    if (eks.length > 0 && !admin)
      out.push(
        finding(
          'PERM-011',
          'high',
          objects,
          `${name} can escalate through EKS/IAM control planes: ${eks.join('; ')}`,
          'keep these permissions in admin pipelines',
        ),
      )
    const secretRead = ['kms:Decrypt', 'secretsmanager:GetSecretValue'].filter(any)
    if (secretRead.length > 0 && !admin)
      out.push(
        finding(
          'PERM-014',
          'medium',
          objects,
          `${name} can decrypt or read secrets on any resource: ${secretRead.join(', ')}`,
          'scope to key/secret ARNs, or add kms:ViaService',
        ),
      )

    // PERM-012: grammar that changes evaluation (the engine's Access-Analyzer-style validation).
    const grammar = new Set<string>()
    for (const policy of p.identity) for (const g of grammarOf(ctx, policy.id)) grammar.add(g)
    if (grammar.size > 0)
      out.push(
        finding(
          'PERM-012',
          [...grammar].some((g) => g.startsWith('FOR_ALL_VALUES')) ? 'medium' : 'low',
          objects,
          `${name}: policy grammar that changes evaluation: ${[...grammar].join('; ')}`,
          'correct the policy (see `podtrust policy validate`)',
        ),
      )

    if (reachable && !('groups' in principal) && principal.boundaryArn === undefined)
      out.push(
        finding(
          'PERM-013',
          'info',
          objects,
          `${name} is a workload role without a permissions boundary`,
          'attach your organization’s boundary to workload roles',
        ),
      )
    if (ctx.podReachable.has(principal.arn)) {
      const ssm = ['ssm:SendCommand', 'ssm:StartSession'].filter(any)
      if (ssm.length > 0)
        out.push(
          finding(
            'NODE-005',
            'medium',
            objects,
            `${name} can ${ssm.join(' and ')} on any instance: it reaches the instance profiles of those instances`,
            'scope SSM permissions by instance tag or ARN',
          ),
        )
    }
  }

  // NODE-002: node roles broader than the standard node policies.
  for (const role of ctx.nodeRoles) {
    const extra = role.attached
      .map((a) => a.slice(a.lastIndexOf('/') + 1))
      .filter((n) => !STANDARD_NODE_POLICIES.has(n))
    const cni = role.attached.some((a) => a.endsWith('/AmazonEKS_CNI_Policy'))
    if (extra.length > 0 || role.inline.length > 0 || isAdmin(ctx, role)) {
      out.push(
        finding(
          'NODE-002',
          isAdmin(ctx, role) ? 'critical' : 'high',
          [role.arn],
          `node role ${role.name} carries more than the standard node policies: ${[...extra, ...role.inline.map((i) => `inline ${i.name}`)].join(', ')}`,
          'move application permissions to IRSA/Pod Identity roles',
        ),
      )
    } else if (cni) {
      out.push(
        finding(
          'NODE-002',
          'medium',
          [role.arn],
          `node role ${role.name} carries AmazonEKS_CNI_Policy: every pod reaching IMDS can modify ENIs`,
          'give AmazonEKS_CNI_Policy to the aws-node ServiceAccount through IRSA or Pod Identity',
        ),
      )
    }
  }
  return { findings: out, summaries }
}

const GRAMMAR_CODES = new Set([
  'FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY',
  'NULL_WITH_IF_EXISTS',
  'WILDCARD_WITHOUT_LIKE_OPERATOR',
  'INVALID_CONDITION_OPERATOR',
  'VARIABLE_WITHOUT_VERSION',
])
const grammarCache = new WeakMap<
  ScanContext,
  { documents: Map<string, Record<string, unknown>>; results: Map<string, string[]> }
>()

/** Access-Analyzer-style findings of one policy that change how it evaluates (cached per policy id). */
function grammarOf(ctx: ScanContext, id: string): string[] {
  let cache = grammarCache.get(ctx)
  if (cache === undefined) {
    const documents = new Map<string, Record<string, unknown>>()
    const { iam } = ctx.inputs
    for (const m of iam.policies.values())
      if (m.defaultVersion !== undefined) documents.set(m.arn, m.defaultVersion.document)
    for (const e of [...iam.roles.values(), ...iam.users.values(), ...iam.groups.values()])
      for (const p of e.inline) documents.set(p.id, p.document)
    cache = { documents, results: new Map() }
    grammarCache.set(ctx, cache)
  }
  const hit = cache.results.get(id)
  if (hit !== undefined) return hit
  const document = cache.documents.get(id)
  const result =
    document === undefined
      ? []
      : validatePolicy(JSON.stringify(document), { type: 'identity' })
          .findings.filter((f) => GRAMMAR_CODES.has(f.code))
          .map((f) => `${f.code} in ${id}`)
  cache.results.set(id, result)
  return result
}
