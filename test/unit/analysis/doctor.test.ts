// The doctor's chain on the failures users of the classic IRSA set-up hit (EKS user guide "IAM roles for service
// accounts", troubleshooting: OIDC provider, sub condition, restart pods after annotating; S3 "ListBucket" acts on
// the bucket ARN per the Service Authorization Reference; AWS CLI credential cache and SDK provider order per the
// AWS SDKs reference guide "Standardized credential providers").
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { diagnose, type DoctorInput, type GcpDoctorPort } from '../../../src/analysis/doctor.ts'
import { ISSUER, NOW, doctorInput, exactTrust, irsaTrust, roleArn } from './helpers.ts'

const ROLE = roleArn('app')
const s3Read = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: 'arn:aws:s3:::invoices/*',
    },
  ],
})

const input = (overrides: Partial<DoctorInput> = {}, trust: object = exactTrust('pay', 'api')) =>
  doctorInput(overrides, trust, [s3Read])

const broken = (r: ReturnType<typeof diagnose>) => r.links.find((l) => !l.ok)

void describe('doctor: IRSA chain', () => {
  void test('a sound chain: every link ✓ and the action allowed', () => {
    const r = diagnose(
      input({ action: 's3:GetObject', resource: 'arn:aws:s3:::invoices/2026/1.pdf' }),
    )
    assert.equal(r.ok, true, JSON.stringify(r.links, null, 2))
    assert.deepEqual(
      r.links.map((l) => l.name),
      [
        'identity-mapping',
        'webhook-injection',
        'sdk-credentials',
        'token',
        'oidc-provider',
        'role',
        'trust-policy',
        'permissions',
      ],
    )
  })

  void test('OIDC provider missing → oidc-provider, with the create command', () => {
    const r = diagnose(input({ providers: [] }))
    assert.equal(broken(r)?.name, 'oidc-provider')
    assert.match(
      broken(r)!.fix!,
      /aws iam create-open-id-connect-provider --url https:\/\/oidc\.eks/,
    )
    assert.equal(r.links.at(-1)!.name, 'oidc-provider', 'stops at the first broken link')
  })

  void test('sub condition mismatch → trust-policy, naming the failed condition and the value seen', () => {
    const r = diagnose(input({}, exactTrust('payments', 'api')))
    const link = broken(r)!
    assert.equal(link.name, 'trust-policy')
    assert.match(
      link.reason,
      /StringEquals .*:sub failed \(request value: "system:serviceaccount:pay:api"\)/,
    )
    assert.match(link.fix!, /update-assume-role-policy --role-name app/)
    assert.match(link.fix!, /system:serviceaccount:pay:api/)
  })

  void test('s3:ListBucket granted on bucket/* → permissions, explaining the bucket ARN', () => {
    const r = diagnose(input({ action: 's3:ListBucket', resource: 'arn:aws:s3:::invoices' }))
    const link = broken(r)!
    assert.equal(link.name, 'permissions')
    assert.match(link.reason, /acts on the bucket ARN arn:aws:s3:::invoices/)
    assert.match(link.fix!, /"Resource":"arn:aws:s3:::invoices"/)
  })

  void test('pod created before the ServiceAccount was annotated → webhook-injection, with the restart', () => {
    const pod = {
      metadata: { name: 'api-7d9', namespace: 'pay', uid: 'u-1' },
      spec: { serviceAccountName: 'api', containers: [{ name: 'app', image: 'app' }] },
    }
    const link = broken(diagnose(input({ pod })))!
    assert.equal(link.name, 'webhook-injection')
    assert.match(link.fix!, /kubectl -n pay delete pod api-7d9/)
    // A manifest not yet created is mutated by the real webhook code.
    const fresh = diagnose(
      input({
        pod: {
          metadata: { name: 'new' },
          spec: { serviceAccountName: 'api', containers: [{ name: 'app', image: 'app' }] },
        },
      }),
    )
    assert.match(fresh.links[1]!.reason, /AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE/)
  })

  void test('AWS CLI cache from an earlier setup and static keys in the environment → sdk-credentials', () => {
    const cache = diagnose(
      input({
        client: {
          env: {},
          cliCache: [
            {
              file: 'abc.json',
              accessKeyId: 'ASIAOLD',
              expiration: new Date(NOW.getTime() + 3600_000),
            },
          ],
          credentialsFileProfiles: [],
        },
      }),
    )
    assert.equal(broken(cache)?.name, 'sdk-credentials')
    assert.match(broken(cache)!.reason, /InvalidClientTokenId/)
    assert.equal(broken(cache)!.fix, 'rm -rf ~/.aws/cli/cache')
    const expired = diagnose(
      input({
        client: {
          env: {},
          cliCache: [{ file: 'abc.json', expiration: new Date(NOW.getTime() - 1000) }],
          credentialsFileProfiles: [],
        },
      }),
    )
    assert.equal(expired.ok, true, 'an expired cache entry is not reused')
    const keys = diagnose(
      input({
        client: {
          env: { AWS_ACCESS_KEY_ID: 'AKIAOLDKEY', AWS_WEB_IDENTITY_TOKEN_FILE: '/t' },
          cliCache: [],
          credentialsFileProfiles: [],
        },
      }),
    )
    assert.match(broken(keys)!.fix!, /unset AWS_ACCESS_KEY_ID/)
    const podKeys = {
      metadata: { name: 'p', uid: 'u' },
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'AWS_ROLE_ARN', value: ROLE },
              { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/t' },
              { name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7ABCDEFG' },
            ],
          },
        ],
      },
    }
    assert.equal(broken(diagnose(input({ pod: podKeys })))?.name, 'sdk-credentials')
  })

  void test('token checks: wrong audience, another subject, expired', async () => {
    const key = new TextEncoder().encode('k'.repeat(32))
    const jwt = (claims: Record<string, unknown>, exp: number) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(key)
    const exp = Math.floor(NOW.getTime() / 1000) + 600
    const base = {
      iss: `https://${ISSUER}`,
      sub: 'system:serviceaccount:pay:api',
      aud: 'sts.amazonaws.com',
    }
    assert.equal(diagnose(input({ token: await jwt(base, exp) })).ok, true)
    assert.match(
      broken(diagnose(input({ token: await jwt({ ...base, aud: 'kubernetes' }, exp) })))!.reason,
      /InvalidIdentityToken/,
    )
    assert.match(
      broken(
        diagnose(input({ token: await jwt({ ...base, sub: 'system:serviceaccount:x:y' }, exp) })),
      )!.reason,
      /token is for/,
    )
    assert.match(
      broken(diagnose(input({ token: await jwt(base, exp - 1200) })))!.reason,
      /ExpiredTokenException/,
    )
  })

  void test('no mapping at all → identity-mapping, suggesting the roles whose trust admits the SA', () => {
    const r = diagnose(
      input(
        { serviceAccountObject: { annotations: {}, labels: {} } },
        irsaTrust({ StringLike: { [`${ISSUER}:sub`]: 'system:serviceaccount:pay:*' } }),
      ),
    )
    assert.equal(r.mechanism, 'none')
    assert.match(r.links[0]!.fix!, new RegExp(`role-arn=${ROLE}`))
  })
})

void describe('doctor: Pod Identity and Azure', () => {
  const assoc = {
    clusterName: 'prod',
    namespace: 'pay',
    serviceAccount: 'api',
    roleArn: ROLE,
    disableSessionTags: false,
    associationId: 'a-1',
  }
  const podTrust = (actions: string[]) => ({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: actions },
    ],
  })

  void test('a trust without sts:TagSession breaks the trust-policy link; with it the chain holds', () => {
    const noAnnotation = {
      serviceAccountObject: { annotations: {}, labels: {} },
      associations: [assoc],
    }
    const bad = diagnose(input(noAnnotation, podTrust(['sts:AssumeRole'])))
    assert.equal(bad.mechanism, 'pod-identity')
    assert.equal(broken(bad)?.name, 'trust-policy')
    assert.match(broken(bad)!.reason, /TagSession/)
    assert.equal(
      diagnose(input(noAnnotation, podTrust(['sts:AssumeRole', 'sts:TagSession']))).ok,
      true,
    )
  })

  void test('Azure: a federated credential for another subject breaks the federated-credential link', () => {
    const r = diagnose(
      input({
        serviceAccountObject: {
          annotations: { 'azure.workload.identity/client-id': 'c-1' },
          labels: {},
        },
        federatedCredentials: [
          {
            identity: 'app-id',
            clientId: 'c-1',
            tenantId: 't',
            issuer: `https://${ISSUER}`,
            subject: 'system:serviceaccount:pay:other',
            audiences: ['api://AzureADTokenExchange'],
          },
        ],
      }),
    )
    assert.equal(r.mechanism, 'azure')
    assert.equal(broken(r)?.name, 'federated-credential')
    assert.match(broken(r)!.fix!, /az identity federated-credential create/)
  })

  void test('GCP: provider, attribute condition and impersonation links, answered through the GCP port', () => {
    const name = 'projects/123/locations/global/workloadIdentityPools/pool/providers/kube'
    const annotations = {
      'podtrust.io/gcp-workload-identity-provider': name,
      'iam.gke.io/gcp-service-account': 'app@proj.iam.gserviceaccount.com',
    }
    const port = (over: Partial<GcpDoctorPort> = {}) => ({
      provider: () => ({ disabled: false, issuerUri: `https://${ISSUER}`, allowedAudiences: [] }),
      federate: () => ({ ok: true as const, subject: 'system:serviceaccount:pay:api' }),
      canImpersonate: () => ({ ok: true, detail: 'granted' }),
      ...over,
    })
    const base = { serviceAccountObject: { annotations, labels: {} } }
    assert.equal(diagnose(input({ ...base, gcp: port() })).ok, true)
    assert.equal(
      broken(diagnose(input({ ...base, gcp: port({ provider: () => undefined }) })))?.name,
      'workload-identity-provider',
    )
    const cond = broken(
      diagnose(
        input({
          ...base,
          gcp: port({
            federate: () => ({ ok: false, message: 'the attribute condition evaluated to false' }),
          }),
        }),
      ),
    )!
    assert.equal(cond.name, 'attribute-condition')
    assert.match(cond.fix!, /--attribute-condition/)
    const imp = broken(
      diagnose(
        input({
          ...base,
          gcp: port({ canImpersonate: () => ({ ok: false, detail: 'no binding' }) }),
        }),
      ),
    )!
    assert.equal(imp.name, 'service-account-impersonation')
    assert.match(
      imp.fix!,
      /add-iam-policy-binding app@proj\.iam\.gserviceaccount\.com --role=roles\/iam\.workloadIdentityUser --member=principal:\/\/iam\.googleapis\.com\/projects\/123\/locations\/global\/workloadIdentityPools\/pool\/subject\/system:serviceaccount:pay:api/,
    )
  })
})
