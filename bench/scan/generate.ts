/**
 * Generated inputs for `npm run bench:scan`, shaped like a real multi-cluster account: per role one application
 * ServiceAccount (IRSA annotation), pods as `kubectl get pods -A -o json` (mutated: AWS_ROLE_ARN + projected
 * token), GAAD with URL-encoded documents (as the JS SDK returns them). Trust mix: 86 % exact sub + aud, 10 %
 * namespace wildcards (StringLike `ns:*`), 4 % two subjects, and five roles without a sub condition at every size
 * (each admits every ServiceAccount of its cluster: a fixed handful, as in real accounts); three clusters' providers.
 * Deterministic (a seeded LCG) so sizes are comparable run to run.
 */
export interface GeneratedInputs {
  gaad: string
  pods: string
  serviceAccounts: string
  providers: string
  roles: number
  podCount: number
  serviceAccountCount: number
}

const ACCOUNT = '111122223333'

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

export function generate(roleCount: number, podCount: number, seed = 42): GeneratedInputs {
  const rnd = lcg(seed)
  const clusters = [1, 2, 3].map((i) => `oidc.eks.us-east-1.amazonaws.com/id/BENCHCLUSTER${i}`)
  const namespaces = Math.max(1, Math.floor(roleCount / 10))
  const apps = Array.from({ length: roleCount }, (_, i) => ({
    ns: `team-${i % namespaces}`,
    sa: `app-${i}`,
    cluster: clusters[i % clusters.length]!,
    role: `arn:aws:iam::${ACCOUNT}:role/app-${i}`,
  }))
  const roles = apps.map((app, i) => {
    const url = app.cluster
    const r = rnd()
    const open = i % Math.max(1, Math.floor(roleCount / 5)) === 1
    const sub = open
      ? { StringEquals: { [`${url}:aud`]: 'sts.amazonaws.com' } }
      : r < 0.86
        ? {
            StringEquals: {
              [`${url}:sub`]: `system:serviceaccount:${app.ns}:${app.sa}`,
              [`${url}:aud`]: 'sts.amazonaws.com',
            },
          }
        : r < 0.96
          ? {
              StringLike: { [`${url}:sub`]: `system:serviceaccount:${app.ns}:*` },
              StringEquals: { [`${url}:aud`]: 'sts.amazonaws.com' },
            }
          : {
              StringEquals: {
                [`${url}:sub`]: [
                  `system:serviceaccount:${app.ns}:${app.sa}`,
                  `system:serviceaccount:${apps[(i + 7) % apps.length]!.ns}:${apps[(i + 7) % apps.length]!.sa}`,
                ],
              },
            }
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${url}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: sub,
        },
      ],
    }
    const p = rnd()
    const statements: object[] = [
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: `arn:aws:s3:::bucket-${i}/*`,
      },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::bucket-${i}` },
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage', 'sqs:ReceiveMessage'],
        Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:queue-${i}`,
      },
    ]
    if (p < 0.02)
      statements.push({
        Effect: 'Allow',
        Action: ['iam:PassRole', 'ec2:RunInstances'],
        Resource: '*',
      })
    else if (p < 0.05)
      statements.push({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' })
    return {
      Path: '/',
      RoleName: `app-${i}`,
      RoleId: `AROA${String(i).padStart(17, '0')}`,
      Arn: app.role,
      CreateDate: '2024-01-01T00:00:00Z',
      AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)),
      InstanceProfileList: [],
      RolePolicyList: [
        {
          PolicyName: 'app',
          PolicyDocument: encodeURIComponent(
            JSON.stringify({ Version: '2012-10-17', Statement: statements }),
          ),
        },
      ],
      AttachedManagedPolicies: [],
      Tags: [],
      RoleLastUsed: { LastUsedDate: '2026-11-20T00:00:00Z', Region: 'us-east-1' },
    }
  })
  const serviceAccounts = apps.map((app) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: app.sa,
      namespace: app.ns,
      annotations: { 'eks.amazonaws.com/role-arn': app.role },
    },
  }))
  const pods = Array.from({ length: podCount }, (_, i) => {
    const app = apps[i % apps.length]!
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${app.sa}-${i}`,
        namespace: app.ns,
        uid: `uid-${i}`,
        labels: { app: app.sa },
      },
      spec: {
        serviceAccountName: app.sa,
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'app',
            image: 'registry.example/app:1',
            env: [
              { name: 'AWS_ROLE_ARN', value: app.role },
              {
                name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
                value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
              },
              { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
            ],
            volumeMounts: [
              {
                name: 'aws-iam-token',
                mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
              },
            ],
          },
        ],
        volumes: [
          {
            name: 'aws-iam-token',
            projected: {
              sources: [
                {
                  serviceAccountToken: {
                    audience: 'sts.amazonaws.com',
                    expirationSeconds: 86400,
                    path: 'token',
                  },
                },
              ],
            },
          },
        ],
      },
    }
  })
  return {
    gaad: JSON.stringify({
      RoleDetailList: roles,
      UserDetailList: [],
      GroupDetailList: [],
      Policies: [],
    }),
    pods: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }),
    serviceAccounts: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: serviceAccounts }),
    providers: JSON.stringify(
      clusters.map((url) => ({
        Arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${url}`,
        Url: `https://${url}`,
        ClientIDList: ['sts.amazonaws.com'],
      })),
    ),
    roles: roleCount,
    podCount,
    serviceAccountCount: serviceAccounts.length,
  }
}
