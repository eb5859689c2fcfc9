// AZ-001/003/005/006 and GCP-001/002/004/007. Deciding documents: Microsoft Graph federatedIdentityCredential
// (one audience, recommended api://AzureADTokenExchange, at most 20 per identity); Azure Workload Identity
// "Service account labels and annotations" (the azure.workload.identity/use label is required); Google IAM
// WorkloadIdentityPoolProvider (attributeCondition, allowedAudiences) and principal identifiers; GKE Workload
// Identity (roles/iam.workloadIdentityUser for serviceAccount:PROJECT.svc.id.goog[NS/KSA]).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AzureFederatedCredential } from '../../../src/analysis/model.ts'
import { deployment, gaad, only, run, sa } from './helpers.ts'

const fic = (over: Partial<AzureFederatedCredential> = {}): AzureFederatedCredential => ({
  identity: 'app-id',
  clientId: 'c-1',
  name: 'pay-api',
  issuer: 'https://issuer.example',
  subject: 'system:serviceaccount:pay:api',
  audiences: ['api://AzureADTokenExchange'],
  ...over,
})

void describe('Azure', () => {
  void test('AZ-001 wildcard or non-SA subject; AZ-003 other audience; clean credential has neither', () => {
    const report = run('', gaad([]), {
      azure: [
        fic(),
        fic({
          name: 'wild',
          subject: undefined,
          claimsMatchingExpression: "claims['sub'] matches 'system:serviceaccount:pay:*'",
        }),
        fic({ name: 'odd', subject: 'pay-api' }),
        fic({ name: 'aud', audiences: ['sts.amazonaws.com'] }),
      ],
    })
    assert.deepEqual(
      only(report, 'AZ-001')
        .map((f) => f.objects[0])
        .sort(),
      ['app-id/odd', 'app-id/wild'],
    )
    assert.deepEqual(
      only(report, 'AZ-003').map((f) => f.objects[0]),
      ['app-id/aud'],
    )
    assert.equal(only(report, 'AZ-006').length, 0, 'three subjects on one identity')
    const many = run('', gaad([]), {
      azure: ['a', 'b', 'c', 'd'].map((n) =>
        fic({ name: n, subject: `system:serviceaccount:${n}:api` }),
      ),
    })
    assert.equal(only(many, 'AZ-006').length, 1, 'four namespaces share one identity')
  })

  void test('AZ-005: annotated SA without a matching credential; pod without the use label', () => {
    const yaml =
      sa('pay', 'api', undefined, '  annotations:\n    azure.workload.identity/client-id: c-1\n') +
      deployment('pay', 'api', 'api')
    const ok = run(yaml, gaad([]), { azure: [fic()] })
    assert.deepEqual(
      only(ok, 'AZ-005').map((f) => f.objects[0]),
      ['pay/api'],
      'only the missing label',
    )
    assert.match(only(ok, 'AZ-005')[0]!.message, /without the label azure\.workload\.identity\/use/)
    const noFic = run(yaml, gaad([]), {
      azure: [fic({ subject: 'system:serviceaccount:pay:other' })],
    })
    assert.ok(only(noFic, 'AZ-005').some((f) => /AADSTS70021/.test(f.message)))
  })
})

void describe('GCP', () => {
  const name = 'projects/123/locations/global/workloadIdentityPools/pool/providers/kube'
  const provider = (over = {}) => ({
    name,
    issuerUri: 'https://issuer.example',
    allowedAudiences: [],
    disabled: false,
    ...over,
  })

  void test('GCP-001 no attribute condition; GCP-004 audiences other clouds use', () => {
    const report = run('', gaad([]), {
      gcp: {
        providers: [
          provider(),
          provider({
            name: `${name}2`,
            attributeCondition: "assertion.sub == 'x'",
            allowedAudiences: ['sts.amazonaws.com'],
          }),
        ],
        serviceAccounts: [],
      },
    })
    assert.deepEqual(
      only(report, 'GCP-001').map((f) => f.objects[0]),
      [name],
    )
    assert.deepEqual(
      only(report, 'GCP-004').map((f) => f.objects[0]),
      [`${name}2`],
    )
  })

  void test('GCP-002 principalSet bindings; GCP-007 KSA annotation without workloadIdentityUser', () => {
    const pool =
      'principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool'
    const yaml = sa(
      'pay',
      'api',
      undefined,
      '  annotations:\n    iam.gke.io/gcp-service-account: app@proj.iam.gserviceaccount.com\n',
    )
    const broken = run(yaml, gaad([]), {
      gcp: {
        providers: [],
        serviceAccounts: [
          {
            email: 'app@proj.iam.gserviceaccount.com',
            projectId: 'proj',
            bindings: [
              {
                role: 'roles/iam.workloadIdentityUser',
                members: [`${pool}/attribute.namespace/pay`],
              },
            ],
          },
        ],
      },
    })
    assert.equal(only(broken, 'GCP-002')[0]!.severity, 'medium')
    assert.match(
      only(broken, 'GCP-007')[0]!.remediation,
      /serviceAccount:proj\.svc\.id\.goog\[pay\/api\]/,
    )
    const bound = run(yaml, gaad([]), {
      gcp: {
        providers: [],
        serviceAccounts: [
          {
            email: 'app@proj.iam.gserviceaccount.com',
            projectId: 'proj',
            bindings: [
              {
                role: 'roles/iam.workloadIdentityUser',
                members: ['serviceAccount:proj.svc.id.goog[pay/api]', `${pool}/*`],
              },
            ],
          },
        ],
      },
    })
    assert.equal(only(bound, 'GCP-007').length, 0)
    assert.equal(only(bound, 'GCP-002')[0]!.severity, 'high')
  })
})
