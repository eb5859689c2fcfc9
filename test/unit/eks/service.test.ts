import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { EksError } from '../../../src/aws/eks/errors.ts'
import { ASSOCIATION_ID_PATTERN } from '../../../src/aws/eks/ids.ts'
import {
  createAssociation,
  deleteAssociation,
  describeAssociation,
  describeCluster,
  listAssociations,
  listClusters,
  updateAssociation,
} from '../../../src/aws/eks/service.ts'
import { ACCOUNT, type TestStore, addCluster, openTestStore, roleArn } from './helpers.ts'
import { engines, postgresSkipReason } from '../store/engines.ts'

const code = (c: string) => (err: unknown) => err instanceof EksError && err.code === c

for (const engine of engines) {
  void describe(`EKS pod identity associations (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    if (skip !== undefined) {
      void it('runs against PostgreSQL', (t) => t.skip(skip)) // reason: the message says what is missing
      return
    }
    let store: TestStore
    beforeEach(async () => {
      store = await openTestStore({
        engine,
        roles: [roleArn('app'), roleArn('other'), roleArn('target', '444455556666')],
      })
      await addCluster(store, 'c1')
    })
    afterEach(async () => store.close())

    void it('creates an association with the model fields and EKS-shaped ids', async () => {
      const { association: a } = await createAssociation(store.deps, 'c1', {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
        tags: { team: 'x' },
      })
      assert.match(a.associationId, ASSOCIATION_ID_PATTERN)
      assert.equal(
        a.associationArn,
        `arn:aws:eks:us-west-2:${ACCOUNT}:podidentityassociation/c1/${a.associationId}`,
      )
      assert.equal(a.createdAt, Date.parse('2026-01-01T00:00:00Z') / 1000)
      assert.equal(a.disableSessionTags, false)
      assert.deepEqual(a.tags, { team: 'x' })
      assert.equal(a.externalId, undefined)
      const again = await describeAssociation(store.deps, 'c1', a.associationId)
      assert.deepEqual(again.association, a)
    })

    void it('generates an external id for a target role (cross-account allowed there)', async () => {
      const { association: a } = await createAssociation(store.deps, 'c1', {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
        targetRoleArn: roleArn('target', '444455556666'),
      })
      assert.match(a.externalId ?? '', /^[0-9a-f-]{36}$/)
      assert.equal(a.targetRoleArn, roleArn('target', '444455556666'))
    })

    void it('refuses a second association for the same namespace/service account, but honours idempotency tokens', async () => {
      const body = {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
        clientRequestToken: 't1',
      }
      const first = await createAssociation(store.deps, 'c1', body)
      const retry = await createAssociation(store.deps, 'c1', body)
      assert.equal(retry.association.associationId, first.association.associationId)
      await assert.rejects(
        createAssociation(store.deps, 'c1', { ...body, clientRequestToken: 't2' }),
        (err: unknown) =>
          err instanceof EksError && err.code === 'ResourceInUseException' && err.status === 409,
      )
    })

    void it('validates members as EKS does', async () => {
      const base = { namespace: 'ns', serviceAccount: 'sa', roleArn: roleArn('app') }
      const cases: [Record<string, unknown>, string][] = [
        [{ ...base, namespace: 'Bad_NS' }, 'InvalidParameterException'],
        [{ ...base, namespace: undefined }, 'InvalidParameterException'],
        [{ ...base, serviceAccount: '' }, 'InvalidParameterException'],
        [{ ...base, roleArn: 'arn:aws:iam::111122223333:user/u' }, 'InvalidParameterException'],
        [{ ...base, roleArn: roleArn('app', '999999999999') }, 'InvalidParameterException'],
        [{ ...base, roleArn: roleArn('missing') }, 'InvalidParameterException'],
        [{ ...base, tags: { 'aws:x': 'y' } }, 'InvalidParameterException'],
        [{ ...base, tags: { k: 'v'.repeat(257) } }, 'InvalidParameterException'],
        [{ ...base, disableSessionTags: 'yes' }, 'InvalidParameterException'],
        [{ ...base, policy: '{not json', disableSessionTags: true }, 'InvalidParameterException'],
        [
          { ...base, policy: '{"Version":"2012-10-17","Statement":[]}' },
          'InvalidParameterException',
        ],
      ]
      for (const [body, expected] of cases) {
        await assert.rejects(
          createAssociation(store.deps, 'c1', body),
          code(expected),
          JSON.stringify(body),
        )
      }
      await assert.rejects(
        createAssociation(store.deps, 'c1', [1, 2]),
        code('InvalidRequestException'),
      )
      await assert.rejects(
        createAssociation(store.deps, 'nope', base),
        code('ResourceNotFoundException'),
      )
    })

    void it('requires iam:PassRole on the role when a checker is bound', async () => {
      const passed: string[] = []
      const deps = {
        ...store.deps,
        canPassRole: async (arn: string) => {
          passed.push(arn)
          return {
            allowed: arn !== roleArn('other'),
            callerArn: 'arn:aws:iam::111122223333:user/u',
          }
        },
      }
      const base = { namespace: 'ns', serviceAccount: 'sa' }
      await assert.rejects(
        createAssociation(deps, 'c1', { ...base, roleArn: roleArn('other') }),
        (err: unknown) =>
          err instanceof EksError &&
          err.code === 'AccessDeniedException' &&
          /iam:PassRole/.test(err.message),
      )
      const { association } = await createAssociation(deps, 'c1', {
        ...base,
        roleArn: roleArn('app'),
      })
      await assert.rejects(
        updateAssociation(deps, 'c1', association.associationId, { roleArn: roleArn('other') }),
        code('AccessDeniedException'),
      )
      assert.deepEqual(passed, [roleArn('other'), roleArn('app'), roleArn('other')])
    })

    void it('accepts a session policy together with disableSessionTags', async () => {
      const policy =
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
      const { association } = await createAssociation(store.deps, 'c1', {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
        disableSessionTags: true,
        policy,
      })
      assert.equal(association.policy, policy)
      assert.equal(association.disableSessionTags, true)
    })

    void it('updates mutable fields, refuses empty and immutable updates', async () => {
      const { association: a } = await createAssociation(store.deps, 'c1', {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
      })
      store.clock.now = new Date('2026-01-02T00:00:00Z')
      const { association: u } = await updateAssociation(store.deps, 'c1', a.associationId, {
        roleArn: roleArn('other'),
        targetRoleArn: roleArn('target', '444455556666'),
      })
      assert.equal(u.roleArn, roleArn('other'))
      assert.ok(u.externalId)
      assert.equal(u.modifiedAt, Date.parse('2026-01-02T00:00:00Z') / 1000)
      assert.equal(u.createdAt, a.createdAt)
      const { association: cleared } = await updateAssociation(store.deps, 'c1', a.associationId, {
        targetRoleArn: '',
      })
      assert.equal(cleared.targetRoleArn, undefined)
      assert.equal(cleared.externalId, undefined)
      await assert.rejects(
        updateAssociation(store.deps, 'c1', a.associationId, {}),
        code('InvalidParameterException'),
      )
      await assert.rejects(
        updateAssociation(store.deps, 'c1', a.associationId, { namespace: 'x' }),
        code('InvalidParameterException'),
      )
      await assert.rejects(
        updateAssociation(store.deps, 'c1', 'a-00000000000000000', { roleArn: roleArn('app') }),
        code('ResourceNotFoundException'),
      )
    })

    void it('deletes and returns the deleted association', async () => {
      const { association: a } = await createAssociation(store.deps, 'c1', {
        namespace: 'ns',
        serviceAccount: 'sa',
        roleArn: roleArn('app'),
      })
      const { association: d } = await deleteAssociation(store.deps, 'c1', a.associationId)
      assert.equal(d.associationId, a.associationId)
      await assert.rejects(
        describeAssociation(store.deps, 'c1', a.associationId),
        code('ResourceNotFoundException'),
      )
      await assert.rejects(
        deleteAssociation(store.deps, 'c1', 'garbage'),
        code('ResourceNotFoundException'),
      )
    })

    void it('lists with filters and pagination', async () => {
      for (let i = 0; i < 5; i++) {
        await createAssociation(store.deps, 'c1', {
          namespace: i < 3 ? 'a' : 'b',
          serviceAccount: `sa${i}`,
          roleArn: roleArn('app'),
        })
      }
      const all = await listAssociations(store.deps, 'c1', {})
      assert.equal(all.associations.length, 5)
      assert.equal(all.nextToken, undefined)
      const filtered = await listAssociations(store.deps, 'c1', { namespace: 'a' })
      assert.deepEqual(filtered.associations.map((s) => s.serviceAccount).sort(), [
        'sa0',
        'sa1',
        'sa2',
      ])
      const p1 = await listAssociations(store.deps, 'c1', { maxResults: '2' })
      assert.equal(p1.associations.length, 2)
      assert.ok(p1.nextToken)
      const p2 = await listAssociations(store.deps, 'c1', {
        maxResults: '2',
        nextToken: p1.nextToken ?? '',
      })
      const p3 = await listAssociations(store.deps, 'c1', {
        maxResults: '2',
        nextToken: p2.nextToken ?? '',
      })
      const ids = [...p1.associations, ...p2.associations, ...p3.associations].map(
        (s) => s.associationId,
      )
      assert.deepEqual(
        ids,
        all.associations.map((s) => s.associationId),
      )
      assert.equal(p3.nextToken, undefined)
      await assert.rejects(
        listAssociations(store.deps, 'c1', { maxResults: '0' }),
        code('InvalidParameterException'),
      )
      await assert.rejects(
        listAssociations(store.deps, 'c1', { maxResults: '101' }),
        code('InvalidParameterException'),
      )
      await assert.rejects(
        listAssociations(store.deps, 'c1', { nextToken: '!!' }),
        code('InvalidParameterException'),
      )
    })

    void it('describes and lists clusters with their issuer', async () => {
      await addCluster(store, 'real', {
        issuerUrl: 'https://oidc.eks.us-west-2.amazonaws.com/id/ABC',
      })
      const { cluster } = await describeCluster(store.deps, 'c1')
      assert.equal(cluster['arn'], `arn:aws:eks:us-west-2:${ACCOUNT}:cluster/c1`)
      assert.deepEqual(cluster['identity'], {
        oidc: { issuer: 'https://127.0.0.1:7443/issuers/cluster:c1' },
      })
      const real = await describeCluster(store.deps, 'real')
      assert.deepEqual(real.cluster['identity'], {
        oidc: { issuer: 'https://oidc.eks.us-west-2.amazonaws.com/id/ABC' },
      })
      assert.deepEqual((await listClusters(store.deps, {})).clusters, ['c1', 'real'])
      const page = await listClusters(store.deps, { maxResults: '1' })
      assert.deepEqual(page.clusters, ['c1'])
      assert.ok(page.nextToken)
      await assert.rejects(
        describeCluster(store.deps, 'missing'),
        code('ResourceNotFoundException'),
      )
    })
  })
}
