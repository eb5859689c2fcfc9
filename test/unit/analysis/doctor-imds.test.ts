// Doctor's node-imds link: whether a pod can obtain node-role credentials through IMDS and whether its SDK uses
// them before or after its intended identity. Rules from public docs:
// - EC2 User Guide, "Configure the instance metadata options"
//   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html): IMDSv1
//   (HttpTokens=optional) needs no token, so no hop limit applies; IMDSv2's token PUT answer travels
//   HttpPutResponseHopLimit hops, and a container behind the node's bridge is one more hop; HttpEndpoint=disabled
//   turns IMDS off.
// - EKS best practices, "Restrict access to the instance profile assigned to the worker node": hop limit 1, and
//   a NetworkPolicy with egress to 0.0.0.0/0 except 169.254.169.254/32; host-network pods bypass both.
// - AWS SDKs and Tools Reference Guide, "Standardized credential providers"
//   (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html): environment keys → web
//   identity → container credentials → IMDS.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { diagnose } from '../../../src/analysis/doctor.ts'
import { podtrustImdsNode } from '../../../src/analysis/inputs/side.ts'
import type { NetworkPolicyInfo, NodeInfo } from '../../../src/analysis/model.ts'
import { ACCOUNT, doctorInput, roleArn } from './helpers.ts'

const ROLE = roleArn('app')
const PROFILE = `arn:aws:iam::${ACCOUNT}:instance-profile/eks-node`

const node = (
  httpTokens: 'required' | 'optional',
  hopLimit: number,
  extra: Partial<NodeInfo> = {},
): NodeInfo => ({
  name: 'i-0abc123',
  httpTokens,
  httpEndpoint: 'enabled',
  hopLimit,
  instanceProfileArn: PROFILE,
  ...extra,
})

const denyImds: NetworkPolicyInfo = {
  namespace: 'pay',
  name: 'deny-imds',
  selectsAll: true,
  matchLabels: {},
  matchExpressions: [],
  egressRestricted: true,
  allowsImds: false,
}

const input = doctorInput

const podWith = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  metadata: { name: 'api', namespace: 'pay', ...meta },
  spec: { serviceAccountName: 'api', containers: [{ name: 'app', image: 'app' }], ...spec },
})

const imdsOf = (r: ReturnType<typeof diagnose>) => r.links.find((l) => l.name === 'node-imds')

void describe('doctor: node-imds link', () => {
  void test('no node facts: no link (nothing is guessed)', () => {
    const r = diagnose(input())
    assert.equal(r.ok, true)
    assert.equal(imdsOf(r), undefined)
  })

  void test('IMDSv2 with hop limit 1 and a pod on the pod network: IMDS does not answer it', () => {
    const r = diagnose(input({ node: { nodes: [node('required', 1)], networkPolicies: [] } }))
    assert.equal(r.ok, true)
    const names = r.links.map((l) => l.name)
    assert.equal(names.indexOf('node-imds'), names.indexOf('sdk-credentials') + 1)
    const link = imdsOf(r)!
    assert.equal(link.ok, true)
    assert.equal(link.warning, undefined)
    assert.match(link.reason, /does not answer this pod.*HttpTokens=required, hop limit 1/)
  })

  void test('hop limit 2: reachable; web identity precedes IMDS, so a warning with the fixes, the chain holds', () => {
    const r = diagnose(input({ node: { nodes: [node('required', 2)], networkPolicies: [] } }))
    assert.equal(r.ok, true, 'a warning is not a broken link')
    const link = imdsOf(r)!
    assert.equal(link.ok, true)
    assert.equal(link.warning, true)
    assert.match(link.reason, new RegExp(`node role of instance profile ${PROFILE}`))
    assert.match(link.reason, /web identity \(IRSA\) first/)
    assert.match(
      link.fix!,
      /aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 1 --http-tokens required --instance-id i-0abc123/,
    )
    assert.match(link.fix!, /except: \[169\.254\.169\.254\/32\]/)
    assert.match(link.fix!, /namespace: pay/)
  })

  void test('IMDSv1 allowed: reachable whatever the hop limit; disabled endpoint: never', () => {
    assert.equal(
      imdsOf(diagnose(input({ node: { nodes: [node('optional', 1)], networkPolicies: [] } })))!
        .warning,
      true,
    )
    const off = imdsOf(
      diagnose(
        input({
          node: { nodes: [node('optional', 2, { httpEndpoint: 'disabled' })], networkPolicies: [] },
        }),
      ),
    )!
    assert.equal(off.warning, undefined)
    assert.match(off.reason, /i-0abc123: the metadata endpoint is disabled/)
  })

  void test('hostNetwork reaches IMDS at hop limit 1 and bypasses NetworkPolicies; other pods are blocked by one', () => {
    const facts = { nodes: [node('required', 1)], networkPolicies: [denyImds] }
    const host = imdsOf(diagnose(input({ pod: podWith({ hostNetwork: true }), node: facts })))!
    assert.equal(host.warning, true)
    assert.match(host.reason, /hostNetwork/)
    assert.match(host.fix!, /remove hostNetwork: true/)
    const v1 = { nodes: [node('optional', 1)], networkPolicies: [denyImds] }
    const blocked = imdsOf(diagnose(input({ pod: podWith({}), node: v1 })))!
    assert.equal(blocked.warning, undefined)
    assert.match(
      blocked.reason,
      /NetworkPolicy pay\/deny-imds .* none admits 169\.254\.169\.254\/32/,
    )
    // A policy of another namespace does not select the pod.
    const elsewhere = {
      nodes: [node('optional', 1)],
      networkPolicies: [{ ...denyImds, namespace: 'ops' }],
    }
    assert.equal(imdsOf(diagnose(input({ pod: podWith({}), node: elsewhere })))!.warning, true)
  })

  void test("podtrust's metadata endpoint has no hop limit: every pod reaches it, the vended role named", () => {
    const link = imdsOf(
      diagnose(
        input({ node: { nodes: [podtrustImdsNode(roleArn('node'))], networkPolicies: [] } }),
      ),
    )!
    assert.equal(link.warning, true)
    assert.match(
      link.reason,
      /podtrust metadata endpoint vending .*role\/node: IMDSv2, no hop limit/,
    )
    assert.match(link.fix!, /--imds-host/)
  })

  void test('a container the webhook skips finds nothing before IMDS: node-imds is the broken link', () => {
    const pod = podWith(
      {
        containers: [
          { name: 'app', image: 'app' },
          { name: 'proxy', image: 'proxy' },
        ],
      },
      { annotations: { 'eks.amazonaws.com/skip-containers': 'proxy' } },
    )
    const r = diagnose(input({ pod, node: { nodes: [node('required', 2)], networkPolicies: [] } }))
    assert.equal(r.ok, false)
    const link = r.links.at(-1)!
    assert.equal(link.name, 'node-imds')
    assert.equal(link.ok, false)
    assert.match(link.reason, /container proxy: nothing earlier in the SDK credential chain/)
    assert.match(link.reason, new RegExp(`signs as the node role of instance profile ${PROFILE}`))
    // Hop limit 1 keeps the same container off the node role: the chain holds.
    assert.equal(
      diagnose(input({ pod, node: { nodes: [node('required', 1)], networkPolicies: [] } })).ok,
      true,
    )
  })

  void test('environment keys come before IMDS (and before web identity): sdk-credentials breaks first', () => {
    const pod = podWith({
      containers: [
        {
          name: 'app',
          image: 'app',
          env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7REALKEY' }],
        },
      ],
    })
    const r = diagnose(input({ pod, node: { nodes: [node('required', 2)], networkPolicies: [] } }))
    assert.equal(r.links.at(-1)!.name, 'sdk-credentials')
    assert.equal(imdsOf(r), undefined)
  })

  void test('a pod created before the annotation falls through to the node role: said in the injection link', () => {
    const live = podWith({}, { uid: 'u-1' })
    const reachable = diagnose(
      input({ pod: live, node: { nodes: [node('required', 2)], networkPolicies: [] } }),
    )
    const link = reachable.links.find((l) => !l.ok)!
    assert.equal(link.name, 'webhook-injection')
    assert.match(
      link.reason,
      new RegExp(`falls through to IMDS and signs as the node role of instance profile ${PROFILE}`),
    )
    const closed = diagnose(
      input({ pod: live, node: { nodes: [node('required', 1)], networkPolicies: [] } }),
    )
    assert.doesNotMatch(closed.links.find((l) => !l.ok)!.reason, /falls through to IMDS/)
  })

  void test('no identity mapped: the SDK signs as the node role, said in the identity-mapping link', () => {
    const r = diagnose(
      input({
        serviceAccountObject: { annotations: {}, labels: {} },
        node: { nodes: [node('optional', 1)], networkPolicies: [] },
      }),
    )
    assert.equal(r.mechanism, 'none')
    assert.match(r.links[0]!.reason, /falls through to IMDS and signs as the node role/)
  })

  void test('Pod Identity: the container provider precedes IMDS, so a warning naming it', () => {
    const r = diagnose(
      input(
        {
          serviceAccountObject: { annotations: {}, labels: {} },
          associations: [
            {
              clusterName: 'prod',
              namespace: 'pay',
              serviceAccount: 'api',
              roleArn: ROLE,
              disableSessionTags: false,
              associationId: 'a-1',
            },
          ],
          node: { nodes: [node('required', 2)], networkPolicies: [] },
        },
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'pods.eks.amazonaws.com' },
              Action: ['sts:AssumeRole', 'sts:TagSession'],
            },
          ],
        },
      ),
    )
    assert.equal(r.mechanism, 'pod-identity')
    assert.equal(r.ok, true)
    assert.match(imdsOf(r)!.reason, /container credentials \(Pod Identity\) first/)
  })
})
