/**
 * Builders for scan unit tests: Kubernetes YAML text, GAAD roles/users/policies, side inputs.
 */
import { PassThrough } from 'node:stream'
import { parseGaad } from '../../../src/analysis/inputs/gaad.ts'
import { buildKubeInventory, parseKubeDocuments } from '../../../src/analysis/inputs/kube.ts'
import type {
  AwsSideInputs,
  ScanFinding,
  ScanInputs,
  ScanReport,
} from '../../../src/analysis/model.ts'
import { scan, type ScanOptions } from '../../../src/analysis/scan.ts'
import { doctorRole, type DoctorInput } from '../../../src/analysis/doctor.ts'
import { main } from '../../../src/cli/main.ts'

export const ACCOUNT = '111122223333'
export const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/CLUSTER1'
export const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`
export const NOW = new Date('2026-12-01T00:00:00Z')

export const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`

export function irsaTrust(
  conditions: Record<string, Record<string, string | string[]>> | undefined,
  extra: object = {},
) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(conditions !== undefined ? { Condition: conditions } : {}),
        ...extra,
      },
    ],
  }
}

export const exactTrust = (ns: string, sa: string) =>
  irsaTrust({
    StringEquals: {
      [`${ISSUER}:sub`]: `system:serviceaccount:${ns}:${sa}`,
      [`${ISSUER}:aud`]: 'sts.amazonaws.com',
    },
  })

/**
 * A doctor input for `pay/api` annotated with role `app` (trusting `trust`, with `identity` as its inline
 * policies), the cluster `prod` and its OIDC provider; `overrides` replace fields.
 */
export function doctorInput(
  overrides: Partial<DoctorInput> = {},
  trust: object = exactTrust('pay', 'api'),
  identity: string[] = [],
): DoctorInput {
  const arn = roleArn('app')
  return {
    now: NOW,
    accountId: ACCOUNT,
    namespace: 'pay',
    serviceAccount: 'api',
    serviceAccountObject: { annotations: { 'eks.amazonaws.com/role-arn': arn }, labels: {} },
    providers: [{ arn: PROVIDER, url: ISSUER, clientIds: ['sts.amazonaws.com'], thumbprints: [] }],
    clusters: [
      {
        name: 'prod',
        arn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/prod`,
        issuerUrl: `https://${ISSUER}`,
        accountId: ACCOUNT,
      },
    ],
    associations: [],
    roles: new Map([
      [
        arn,
        doctorRole({
          arn,
          accountId: ACCOUNT,
          trust: JSON.stringify(trust),
          identity: identity.map((document, i) => ({
            id: i === 0 ? 'inline:s3' : `inline:${i}`,
            document,
          })),
        }),
      ],
    ]),
    ...overrides,
  }
}

export interface RoleSpec {
  name: string
  trust: object
  inline?: object[]
  attached?: string[]
  boundary?: string
  instanceProfile?: boolean
  lastUsed?: string | null
}

export function gaad(
  roles: RoleSpec[],
  extra: { policies?: { arn: string; document: object }[]; users?: object[] } = {},
) {
  return {
    RoleDetailList: roles.map((r) => ({
      Path: '/',
      RoleName: r.name,
      RoleId: `AROA${r.name.toUpperCase().padEnd(17, 'X').slice(0, 17)}`,
      Arn: roleArn(r.name),
      CreateDate: '2024-01-01T00:00:00Z',
      AssumeRolePolicyDocument: r.trust,
      InstanceProfileList: r.instanceProfile
        ? [
            {
              Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${r.name}`,
              InstanceProfileName: r.name,
              Roles: [],
            },
          ]
        : [],
      RolePolicyList: (r.inline ?? []).map((d, i) => ({ PolicyName: `p${i}`, PolicyDocument: d })),
      AttachedManagedPolicies: (r.attached ?? []).map((a) => ({
        PolicyArn: a,
        PolicyName: a.slice(a.lastIndexOf('/') + 1),
      })),
      ...(r.boundary !== undefined
        ? {
            PermissionsBoundary: {
              PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
              PermissionsBoundaryArn: r.boundary,
            },
          }
        : {}),
      Tags: [],
      RoleLastUsed:
        r.lastUsed === null
          ? {}
          : { LastUsedDate: r.lastUsed ?? '2026-11-30T00:00:00Z', Region: 'us-east-1' },
    })),
    UserDetailList: extra.users ?? [],
    GroupDetailList: [],
    Policies: (extra.policies ?? []).map((p) => ({
      PolicyName: p.arn.slice(p.arn.lastIndexOf('/') + 1),
      Arn: p.arn,
      DefaultVersionId: 'v1',
      PolicyVersionList: [{ Document: p.document, VersionId: 'v1', IsDefaultVersion: true }],
    })),
  }
}

export const allowAll = (
  actions: string | string[],
  resource: string | string[] = '*',
  extra: object = {},
) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: resource, ...extra }],
})

export function inputs(
  yaml: string,
  gaadJson: object = gaad([]),
  side: AwsSideInputs = {},
): ScanInputs {
  const parsed = parseKubeDocuments(yaml === '' ? [] : [{ path: 'test.yaml', text: yaml }])
  return {
    kube: buildKubeInventory(parsed.objects, parsed.skipped),
    iam: parseGaad(gaadJson),
    side,
  }
}

export function run(
  yaml: string,
  gaadJson?: object,
  side?: AwsSideInputs,
  options: Partial<ScanOptions> = {},
): ScanReport {
  return scan(inputs(yaml, gaadJson, side), { now: NOW, ...options })
}

export const ids = (report: ScanReport): string[] =>
  [...new Set(report.findings.map((f) => f.id))].sort()

export function only(report: ScanReport, id: string): ScanFinding[] {
  return report.findings.filter((f) => f.id === id)
}

export const sa = (ns: string, name: string, role?: string, extra = '') => `---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
  namespace: ${ns}
${role !== undefined ? `  annotations:\n    eks.amazonaws.com/role-arn: ${role}\n` : ''}${extra}`

export const deployment = (
  ns: string,
  name: string,
  saName: string,
  podSpecExtra = '',
  containerExtra = '',
) => `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      serviceAccountName: ${saName}
      automountServiceAccountToken: false
${podSpecExtra}      containers:
        - name: app
          image: app:1
${containerExtra}`

export const providers = (clientIds = ['sts.amazonaws.com']) => [
  { arn: PROVIDER, url: ISSUER, clientIds, thumbprints: [] },
]

/** `podtrust scan ARGS` in `cwd`, with stdout and stderr collected. */
export async function scanCli(
  cwd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await main(['scan', ...args], { stdout, stderr, env: {}, cwd })
  return { code, out, err }
}
