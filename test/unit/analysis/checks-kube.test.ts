// Bindings (BIND-*), credentials (CRED-*), ServiceAccounts (SA-*), nodes (NODE-001/003/004), legacy (LEG-*),
// and the SDK credential chains. Deciding documents: botocore `create_credential_resolver` and the AWS SDK for
// JavaScript v3 `defaultProvider` order (AWS SDKs reference guide, "Standardized credential providers"); EKS user
// guide "IAM roles for service accounts" (restart pods after annotating), EKS best practices "Restrict access to the
// instance profile"; Kubernetes RBAC good practices (workload creation, TokenRequest, impersonation).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  ACCOUNT,
  allowAll,
  deployment,
  exactTrust,
  gaad,
  only,
  roleArn,
  run,
  sa,
} from './helpers.ts'
import { podtrustImdsNode } from '../../../src/analysis/inputs/side.ts'

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE'.replace('EXAMPLE', 'ABCDEFG').slice(0, 20)
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz'

void describe('BIND-*', () => {
  void test('BIND-002 placeholder annotation and dangling own-account role', () => {
    const report = run(
      sa('carts', 'carts', '${CARTS_IAM_ROLE}') + sa('pay', 'api', roleArn('gone')),
      gaad([{ name: 'x', trust: exactTrust('a', 'b') }]),
    )
    const f = only(report, 'BIND-002')
    assert.deepEqual(f.map((x) => x.severity).sort(), ['low', 'medium'])
  })

  void test('BIND-003 hidden reachability, high when the extra role can escalate', () => {
    const report = run(
      sa('pay', 'api', roleArn('api')),
      gaad([
        { name: 'api', trust: exactTrust('pay', 'api') },
        {
          name: 'backup',
          trust: exactTrust('pay', 'api'),
          inline: [allowAll(['iam:PassRole', 'ec2:RunInstances'])],
        },
      ]),
    )
    const f = only(report, 'BIND-003')
    assert.equal(f.length, 1)
    assert.deepEqual(f[0]!.objects, ['pay/api', roleArn('backup')])
    assert.equal(f[0]!.severity, 'high')
  })

  void test('BIND-004: a live pod of an annotated SA without the webhook injection; BIND-005 static keys shadowing IRSA', () => {
    const pod = (env: string) => `---
apiVersion: v1
kind: Pod
metadata: { name: api-1, namespace: pay }
spec:
  serviceAccountName: api
  containers:
    - name: app
      image: app
      env:
${env}`
    const report = run(
      sa('pay', 'api', roleArn('api')) + pod('        - { name: LOG, value: info }\n'),
      gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]),
    )
    assert.match(only(report, 'BIND-004')[0]!.remediation, /kubectl -n pay delete pod api-1/)
    const mutated = pod(
      `        - { name: AWS_ROLE_ARN, value: ${roleArn('api')} }\n        - { name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token }\n        - { name: AWS_ACCESS_KEY_ID, value: ${KEY_ID} }\n        - { name: AWS_SECRET_ACCESS_KEY, value: ${SECRET} }\n`,
    )
    const shadow = run(
      sa('pay', 'api', roleArn('api')) + mutated,
      gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]),
    )
    assert.equal(only(shadow, 'BIND-004').length, 0)
    assert.equal(only(shadow, 'BIND-005').length, 1)
    assert.equal(only(shadow, 'CRED-001')[0]!.severity, 'critical')
    assert.equal(shadow.workloads[0]!.credentialSource, 'env-keys')
  })

  void test('SDK chains differ on a mounted credentials file: JS v3 reads it before web identity, botocore does not', () => {
    const spec = `      volumes:\n        - name: aws\n          secret: { secretName: aws-creds }\n`
    const container = `          volumeMounts:\n            - { name: aws, mountPath: /root/.aws }\n`
    const report = run(
      sa('pay', 'api', roleArn('api')) + deployment('pay', 'api', 'api', spec, container),
      gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]),
    )
    const w = report.workloads[0]!
    assert.deepEqual(w.credentialSourceBySdk, {
      python: 'irsa',
      javascript: 'shared-credentials-file',
    })
    assert.match(only(report, 'BIND-005')[0]!.message, /JS SDK v3 uses shared-credentials-file/)
    assert.equal(only(report, 'CRED-004').length, 1)
  })

  void test('BIND-006 unused and unbound workload roles; BIND-007 one role for several SAs across namespaces', () => {
    const report = run(
      sa('a', 'x') + sa('b', 'y'),
      gaad([
        {
          name: 'shared',
          trust: {
            Version: '2012-10-17',
            Statement: [exactTrust('a', 'x').Statement[0]!, exactTrust('b', 'y').Statement[0]!],
          },
        },
        { name: 'orphan', trust: exactTrust('c', 'z'), lastUsed: null },
      ]),
    )
    assert.equal(only(report, 'BIND-007')[0]!.severity, 'medium')
    const unused = only(report, 'BIND-006').filter((f) => f.objects[0] === roleArn('orphan'))
    assert.equal(unused.length, 2)
  })

  void test('BIND-008 association naming a missing SA and a role whose trust does not admit Pod Identity', () => {
    const report = run(sa('pay', 'web'), gaad([{ name: 'r', trust: exactTrust('pay', 'api') }]), {
      associations: [
        {
          clusterName: 'prod',
          clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/prod`,
          namespace: 'pay',
          serviceAccount: 'api',
          roleArn: roleArn('r'),
          disableSessionTags: false,
        },
      ],
    })
    const f = only(report, 'BIND-008')[0]!
    assert.match(f.message, /does not exist/)
    assert.match(f.message, /does not allow sts:AssumeRole/)
  })

  void test('BIND-009 several mechanisms; LEG-001 kube2iam annotation; LEG-002 wildcard allowed-roles', () => {
    const yaml = `---
apiVersion: v1
kind: Namespace
metadata:
  name: default
  annotations:
    iam.amazonaws.com/allowed-roles: '["my-path/*"]'
---
apiVersion: v1
kind: Pod
metadata:
  name: cli
  namespace: default
  annotations: { iam.amazonaws.com/role: reader }
spec:
  containers:
    - name: c
      image: x
      env:
        - { name: AWS_ACCESS_KEY_ID, value: foo-fake }
        - { name: AWS_SECRET_ACCESS_KEY, value: bar-fake }
`
    const report = run(
      yaml,
      gaad([{ name: 'reader', trust: { Version: '2012-10-17', Statement: [] } }]),
    )
    assert.equal(only(report, 'LEG-001').length, 1)
    assert.equal(only(report, 'LEG-002').length, 1)
    assert.equal(only(report, 'BIND-009').length, 1)
    assert.equal(
      only(report, 'CRED-001')[0]!.severity,
      'info',
      'placeholder keys are not real keys',
    )
    assert.deepEqual(report.workloads[0]!.roles, [roleArn('reader')])
  })
})

void describe('CRED-*, SA-*, NODE-*', () => {
  void test('CRED-002 keys from a Secret via secretKeyRef; CRED-003 the Secret itself (base64 data); CRED-005 mapped to the user', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    const yaml =
      `---
apiVersion: v1
kind: Secret
metadata: { name: aws, namespace: dns }
data:
  credentials: ${b64(`[default]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`)}
` +
      deployment(
        'dns',
        'external-dns',
        'external-dns',
        '',
        `          env:\n            - name: AWS_ACCESS_KEY_ID\n              valueFrom: { secretKeyRef: { name: aws, key: id } }\n`,
      )
    const report = run(yaml, gaad([]), {
      accessKeys: [{ userName: 'dns-bot', accessKeyId: KEY_ID, status: 'Active' }],
    })
    assert.equal(only(report, 'CRED-002')[0]!.severity, 'high')
    const cred3 = only(report, 'CRED-003')[0]!
    assert.equal(cred3.severity, 'high')
    assert.ok(cred3.objects.includes('user dns-bot'))
    assert.equal(only(report, 'CRED-005').length, 1)
  })

  void test('CRED-006 other clouds; NODE-004 hostPath; SA-005 legacy token; SA-006 token expiration', () => {
    const yaml =
      sa('x', 'y', undefined, '  annotations:\n    eks.amazonaws.com/token-expiration: "600"\n') +
      `---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: old, namespace: x }
` +
      deployment(
        'x',
        'app',
        'y',
        `      volumes:\n        - name: kubelet\n          hostPath: { path: /var/lib/kubelet }\n`,
        `          env:\n            - { name: AZURE_CLIENT_SECRET, value: s }\n`,
      )
    const report = run(yaml)
    for (const id of ['CRED-006', 'NODE-004', 'SA-005', 'SA-006'])
      assert.equal(only(report, id).length, 1, id)
  })

  void test('SA-001 default SA (high when it maps to a role), SA-002 automount, SA-003 shared SA', () => {
    const yaml =
      sa('pay', 'default', roleArn('r')) +
      deployment('pay', 'a', 'default').replace('      automountServiceAccountToken: false\n', '') +
      deployment('pay', 'b', 'default')
    const report = run(yaml, gaad([{ name: 'r', trust: exactTrust('pay', 'default') }]))
    assert.ok(only(report, 'SA-001').every((f) => f.severity === 'high'))
    assert.equal(only(report, 'SA-002').length, 1)
    assert.equal(only(report, 'SA-003').length, 1)
  })

  void test('SA-004: a RoleBinding lets a group create pods in a namespace whose SA maps to a role', () => {
    const yaml =
      sa('pay', 'api', roleArn('api')) +
      `---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: dev, namespace: pay }
rules:
  - { apiGroups: [""], resources: [pods], verbs: [create, get] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: dev, namespace: pay }
roleRef: { kind: Role, name: dev, apiGroup: rbac.authorization.k8s.io }
subjects:
  - { kind: Group, name: system:authenticated }
`
    const report = run(yaml, gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]))
    const f = only(report, 'SA-004')
    assert.equal(f.length, 1)
    assert.equal(f[0]!.severity, 'critical')
  })

  void test('NODE-001 by IMDS settings: v1 allowed → every pod; v2 hop 1 → host-network pods only; NetworkPolicy blocks', () => {
    const node = (httpTokens: 'required' | 'optional', hopLimit: number) => ({
      nodes: [{ name: 'i-1', httpTokens, httpEndpoint: 'enabled' as const, hopLimit }],
    })
    const pods =
      deployment('a', 'web', 'web') + deployment('a', 'agent', 'agent', '      hostNetwork: true\n')
    const count = (r: ReturnType<typeof run>) => only(r, 'NODE-001').length
    assert.equal(count(run(pods, gaad([]), node('optional', 1))), 2)
    assert.equal(count(run(pods, gaad([]), node('required', 1))), 1)
    assert.equal(count(run(pods, gaad([]), node('required', 2))), 2)
    const deny = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: no-imds, namespace: a }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: { cidr: 0.0.0.0/0, except: [169.254.169.254/32] }
`
    assert.equal(
      count(run(pods + deny, gaad([]), node('optional', 1))),
      1,
      'only the host-network pod bypasses the policy',
    )
  })

  // Kubernetes label selectors (matchExpressions ANDed with matchLabels) and NetworkPolicy ports (none = all;
  // IMDS answers on TCP 80): https://kubernetes.io/docs/concepts/services-networking/network-policies/
  void test('NODE-001: a NetworkPolicy blocks IMDS only for the pods its matchExpressions select, on port 80', () => {
    const optional = {
      nodes: [
        {
          name: 'i-1',
          httpTokens: 'optional' as const,
          httpEndpoint: 'enabled' as const,
          hopLimit: 1,
        },
      ],
    }
    const pods = deployment('a', 'web', 'web') + deployment('a', 'api', 'api')
    const count = (extra: string) => only(run(pods + extra, gaad([]), optional), 'NODE-001').length
    const policy = (selector: string, egress: string) => `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p, namespace: a }
spec:
  podSelector: ${selector}
  policyTypes: [Egress]
  egress:
${egress}
`
    const allButImds =
      '    - to:\n        - ipBlock: { cidr: 0.0.0.0/0, except: [169.254.169.254/32] }'
    assert.equal(count(''), 2)
    assert.equal(
      count(
        policy('{ matchExpressions: [{ key: app, operator: In, values: [web] }] }', allButImds),
      ),
      1,
      'only web is selected: api still reaches IMDS',
    )
    assert.equal(
      count(
        policy('{ matchExpressions: [{ key: app, operator: In, values: [batch] }] }', allButImds),
      ),
      2,
      'a selector that matches no pod blocks nothing',
    )
    assert.equal(
      count(
        policy('{ matchExpressions: [{ key: app, operator: NotIn, values: [web] }] }', allButImds),
      ),
      1,
    )
    assert.equal(
      count(policy('{ matchExpressions: [{ key: tier, operator: DoesNotExist }] }', allButImds)),
      0,
    )
    const httpsOnly =
      '    - to:\n        - ipBlock: { cidr: 0.0.0.0/0 }\n      ports: [{ protocol: TCP, port: 443 }]'
    assert.equal(
      count(policy('{}', httpsOnly)),
      0,
      'egress to any address but only on 443 keeps pods off IMDS',
    )
    const httpRange =
      '    - to:\n        - ipBlock: { cidr: 0.0.0.0/0 }\n      ports: [{ port: 1, endPort: 1024 }]'
    assert.equal(count(policy('{}', httpRange)), 2, 'a port range holding 80 admits IMDS')
  })

  void test("NODE-001 for podtrust's metadata endpoint: IMDSv2 but no hop limit → every pod, the vended role named", () => {
    const ec2Trust = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    }
    const side = { nodes: [podtrustImdsNode(roleArn('node-role'))] }
    const pods = deployment('a', 'web', 'web')
    const found = only(run(pods, gaad([{ name: 'node-role', trust: ec2Trust }]), side), 'NODE-001')
    assert.equal(found.length, 1, 'a pod without host network reaches it: no hop limit applies')
    assert.ok(found[0]!.objects.includes(roleArn('node-role')))
    assert.match(
      found[0]!.message,
      /podtrust metadata endpoint vending .*node-role: IMDSv2, no hop limit/,
    )
    const deny = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: no-imds, namespace: a }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: { cidr: 0.0.0.0/0, except: [169.254.169.254/32] }
`
    assert.equal(
      only(run(pods + deny, gaad([{ name: 'node-role', trust: ec2Trust }]), side), 'NODE-001')
        .length,
      0,
    )
  })

  void test('ESO SecretStore with static keys is CRED-002', () => {
    const yaml = `---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: { name: aws, namespace: app }
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: { name: awssm-secret, key: access-key }
          secretAccessKeySecretRef: { name: awssm-secret, key: secret-access-key }
`
    assert.match(only(run(yaml), 'CRED-002')[0]!.message, /SecretStore app\/aws/)
    // A JWT store maps to its ServiceAccount's roles (by evaluation), plus the role it assumes on top.
    const jwt =
      sa('app', 'eso', roleArn('eso')) +
      yaml.replace(
        /secretRef:\n.*\n.*\n/,
        'jwt: { serviceAccountRef: { name: eso } }\n      role: arn:aws:iam::111122223333:role/reader\n',
      )
    const report = run(jwt, gaad([{ name: 'eso', trust: exactTrust('app', 'eso') }]))
    const store = report.workloads.find((w) => w.kind === 'SecretStore')!
    assert.deepEqual(store, {
      pod: 'app/aws',
      serviceAccount: 'app/eso',
      roles: [roleArn('eso'), roleArn('reader')],
      credentialSource: 'irsa',
      credentialSourceBySdk: { python: 'irsa', javascript: 'irsa' },
      nodeRoles: [],
      kind: 'SecretStore',
    })
  })
})

void describe('BIND-003 for trusts open to every ServiceAccount', () => {
  void test('reported once per role, listing the ServiceAccounts, not once per ServiceAccount', () => {
    const yaml = sa('a', 'x') + sa('b', 'y') + sa('c', 'z')
    const report = run(
      yaml,
      gaad([
        {
          name: 'open',
          trust: {
            Version: '2012-10-17',
            Statement: [{ ...exactTrust('a', 'x').Statement[0]!, Condition: undefined }],
          },
        },
      ]),
    )
    const f = only(report, 'BIND-003')
    assert.equal(f.length, 1)
    assert.deepEqual(f[0]!.objects, [roleArn('open'), 'a/x', 'b/y', 'c/z'])
    assert.match(f[0]!.message, /3 ServiceAccount\(s\)/)
  })
})
