// Input adapters. Deciding documents: IAM API reference GetAccountAuthorizationDetails ("URL-encoded compliant with
// RFC 3986"); Kubernetes API conventions (List kinds); kustomize `namespace` field; admission defaults for
// serviceAccountName.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  decodePolicyDocument,
  parseGaad,
  parseTimestamp,
  ScanInputError,
} from '../../../src/analysis/inputs/gaad.ts'
import { buildKubeInventory, parseKubeDocuments } from '../../../src/analysis/inputs/kube.ts'
import {
  parseAccessKeys,
  parseNodes,
  parseOidcProviders,
  parsePodIdentityAssociations,
} from '../../../src/analysis/inputs/side.ts'

const doc = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::a+b/*' }],
}

void describe('GAAD', () => {
  void test('policy documents as objects, JSON text and URL-encoded text decode the same; + stays +', () => {
    const encoded = encodeURIComponent(JSON.stringify(doc))
    assert.deepEqual(decodePolicyDocument(doc, 'x'), doc)
    assert.deepEqual(decodePolicyDocument(JSON.stringify(doc), 'x'), doc)
    assert.deepEqual(decodePolicyDocument(encoded, 'x'), doc)
    assert.throws(
      () => decodePolicyDocument('%E0%A4%A', 'Policies[0]'),
      (e: unknown) => e instanceof ScanInputError && /Policies\[0\]/.test(e.message),
    )
  })

  void test('only the default version of a managed policy is evaluated', () => {
    const g = parseGaad({
      Policies: [
        {
          Arn: 'arn:aws:iam::111122223333:policy/p',
          PolicyName: 'p',
          DefaultVersionId: 'v2',
          PolicyVersionList: [
            {
              VersionId: 'v1',
              IsDefaultVersion: false,
              Document: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
              },
            },
            {
              VersionId: 'v2',
              IsDefaultVersion: true,
              Document: encodeURIComponent(JSON.stringify(doc)),
            },
          ],
        },
      ],
    })
    assert.deepEqual(
      g.policies.get('arn:aws:iam::111122223333:policy/p')!.defaultVersion!.document,
      doc,
    )
  })

  void test('not GAAD → a clear error; a bad document → a warning, the scan goes on', () => {
    assert.throws(() => parseGaad('{"foo":1}'), /not get-account-authorization-details/)
    assert.throws(() => parseGaad('nope'), /not JSON/)
    const g = parseGaad({
      RoleDetailList: [
        {
          Arn: 'arn:aws:iam::111122223333:role/r',
          RoleName: 'r',
          AssumeRolePolicyDocument: 'not%20json',
        },
      ],
    })
    assert.equal(g.roles.get('arn:aws:iam::111122223333:role/r')!.trust.compiled, undefined)
    assert.equal(g.warnings.length, 1)
  })

  void test('timestamps in the four producer formats', () => {
    const want = Date.UTC(2019, 7, 16, 17, 27, 59)
    for (const s of [
      '2019-08-16T17:27:59Z',
      '2019-08-16 17:27:59+00:00',
      '2019-08-16T17:27:59+00:00',
      '2019-08-16T17:27:59.000000Z',
    ])
      assert.equal(parseTimestamp(s)!.getTime(), want, s)
    assert.equal(parseTimestamp('garbage'), undefined)
  })
})

void describe('Kubernetes objects', () => {
  void test('multi-document YAML, List kinds (kubectl -o json), non-objects skipped with a reason', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', namespace: 'n' } },
      ],
    })
    const yaml =
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b, namespace: n}\n---\nprovider: {name: aws}\n'
    const { objects, skipped } = parseKubeDocuments([
      { path: 'l.json', text: list },
      { path: 'v.yaml', text: yaml },
    ])
    assert.deepEqual(
      objects.map((o) => o.metadata.name),
      ['a', 'b'],
    )
    assert.equal(skipped.length, 1)
    assert.match(skipped[0]!.reason, /not a Kubernetes object/)
  })

  void test('a kustomize base folder gives its namespace to objects without one; templates default to SA "default"', () => {
    const { objects } = parseKubeDocuments([
      {
        path: 'base/kustomization.yaml',
        text: 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: carts\n',
      },
      {
        path: 'base/d.yaml',
        text: 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: i}]\n',
      },
    ])
    const inv = buildKubeInventory(objects)
    assert.equal(inv.pods[0]!.namespace, 'carts')
    assert.equal(inv.pods[0]!.serviceAccountName, 'default')
    assert.ok(inv.serviceAccounts.has('carts/default'))
    assert.equal(inv.serviceAccounts.get('carts/default')!.declared, false)
  })

  void test('the same object twice: the last wins (base then overlay)', () => {
    const sa = (role: string) =>
      `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s\n  namespace: n\n  annotations: {eks.amazonaws.com/role-arn: "${role}"}\n`
    const { objects } = parseKubeDocuments([
      { path: 'a.yaml', text: `${sa('one')}---\n${sa('two')}` },
    ])
    assert.equal(
      buildKubeInventory(objects).serviceAccounts.get('n/s')!.annotations[
        'eks.amazonaws.com/role-arn'
      ],
      'two',
    )
  })
})

void describe('side inputs', () => {
  void test('OIDC providers from list + get outputs; URL without https://', () => {
    const p = parseOidcProviders(
      [
        {
          Arn: 'arn:aws:iam::1:oidc-provider/o.example/id/X',
          Url: 'https://o.example/id/X',
          ClientIDList: ['sts.amazonaws.com', 'x'],
        },
      ],
      'f',
    )
    assert.deepEqual(p, [
      {
        arn: 'arn:aws:iam::1:oidc-provider/o.example/id/X',
        url: 'o.example/id/X',
        clientIds: ['sts.amazonaws.com', 'x'],
        thumbprints: [],
      },
    ])
    const listOnly = parseOidcProviders(
      { OpenIDConnectProviderList: [{ Arn: 'arn:aws:iam::1:oidc-provider/o.example/id/Y' }] },
      'f',
    )
    assert.deepEqual(listOnly[0]!.clientIds, ['sts.amazonaws.com'])
  })

  void test('Pod Identity associations from describe outputs; list output without roleArn is rejected', () => {
    const a = parsePodIdentityAssociations(
      [
        {
          association: {
            clusterName: 'prod',
            namespace: 'n',
            serviceAccount: 's',
            roleArn: 'arn:aws:iam::1:role/r',
            associationArn: 'arn:aws:eks:us-east-1:111122223333:podidentityassociation/prod/a-1',
            disableSessionTags: true,
          },
        },
      ],
      'f',
    )
    assert.equal(a[0]!.clusterArn, 'arn:aws:eks:us-east-1:111122223333:cluster/prod')
    assert.equal(a[0]!.disableSessionTags, true)
    assert.throws(
      () =>
        parsePodIdentityAssociations(
          { associations: [{ clusterName: 'prod', namespace: 'n', serviceAccount: 's' }] },
          'f',
        ),
      /roleArn/,
    )
  })

  void test('nodes from describe-instances; access keys from list-access-keys', () => {
    const nodes = parseNodes(
      {
        Reservations: [
          {
            Instances: [
              {
                InstanceId: 'i-1',
                MetadataOptions: {
                  HttpTokens: 'optional',
                  HttpPutResponseHopLimit: 2,
                  HttpEndpoint: 'enabled',
                },
                IamInstanceProfile: { Arn: 'arn:aws:iam::1:instance-profile/n' },
              },
            ],
          },
        ],
      },
      'f',
    )
    assert.deepEqual(nodes, [
      {
        name: 'i-1',
        httpTokens: 'optional',
        httpEndpoint: 'enabled',
        hopLimit: 2,
        instanceProfileArn: 'arn:aws:iam::1:instance-profile/n',
      },
    ])
    const lt = parseNodes(
      {
        LaunchTemplateVersions: [
          {
            LaunchTemplateName: 'ng',
            VersionNumber: 3,
            LaunchTemplateData: {
              MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
            },
          },
        ],
      },
      'f',
    )
    assert.deepEqual(lt, [
      { name: 'ng:3', httpTokens: 'required', httpEndpoint: 'enabled', hopLimit: 2 },
    ])
    const keys = parseAccessKeys(
      {
        AccessKeyMetadata: [
          {
            UserName: 'u',
            AccessKeyId: 'AKIA1',
            Status: 'Inactive',
            CreateDate: '2020-01-01T00:00:00Z',
          },
        ],
      },
      'f',
    )
    assert.equal(keys[0]!.status, 'Inactive')
    assert.equal(keys[0]!.createDate!.getUTCFullYear(), 2020)
  })
})
