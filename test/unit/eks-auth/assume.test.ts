import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type { AuditEvent } from '../../../src/audit/types.ts'
import { resolveCluster } from '../../../src/aws/eks/clusters.ts'
import { EksAuthError } from '../../../src/aws/eks/errors.ts'
import { createAssociation } from '../../../src/aws/eks/service.ts'
import {
  type PodIdentityDeps,
  type RoleLike,
  type TrustCheck,
  assumeRoleForPodIdentity,
} from '../../../src/aws/eks-auth/assume.ts'
import { podIdentitySessionName } from '../../../src/aws/eks-auth/tags.ts'
import { ACCOUNT, type TestStore, addCluster, openTestStore, roleArn } from '../eks/helpers.ts'

const ISSUER = 'https://127.0.0.1:7443/issuers/cluster:c1'

function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${enc({ alg: 'RS256', kid: 'k' })}.${enc(claims)}.c2ln`
}

function podToken(over: Record<string, unknown> = {}, ns = 'ns', sa = 'sa'): string {
  return fakeJwt({
    iss: ISSUER,
    aud: ['pods.eks.amazonaws.com'],
    sub: `system:serviceaccount:${ns}:${sa}`,
    exp: Date.parse('2026-01-02T00:00:00Z') / 1000,
    'kubernetes.io': {
      namespace: ns,
      serviceaccount: { name: sa, uid: 'sa-uid' },
      pod: { name: 'my-pod-0123456789', uid: 'pod-uid-1' },
    },
    ...over,
  })
}

function role(name: string, trust: object, account = ACCOUNT): RoleLike {
  return {
    accountId: account,
    roleName: name,
    roleId: `AROA${name.toUpperCase().padEnd(17, 'X')}`,
    arn: roleArn(name, account),
    assumeRolePolicyDocument: JSON.stringify(trust),
    maxSessionDuration: 3600,
  }
}

const podTrust = (actions: string[]) => ({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: actions },
  ],
})

/** A deliberately small trust evaluator: principal + action + optional sts:ExternalId / aws:SourceAccount. */
async function fakeTrust(check: TrustCheck) {
  const doc = JSON.parse(check.role.assumeRolePolicyDocument) as {
    Statement: {
      Principal: { Service?: string; AWS?: string }
      Action: string[]
      Condition?: Record<string, Record<string, string>>
    }[]
  }
  const allowed = doc.Statement.some((s) => {
    const principalOk =
      s.Principal.Service === check.principal || s.Principal.AWS === check.principal
    const cond = s.Condition?.['StringEquals'] ?? {}
    const condOk = Object.entries(cond).every(([k, v]) => check.context[k] === v)
    return principalOk && s.Action.includes(check.action) && condOk
  })
  return { allowed, decision: allowed ? 'Allowed' : 'ImplicitlyDenied' }
}

void describe('EKS Auth AssumeRoleForPodIdentity', () => {
  let store: TestStore
  let roles: Map<string, RoleLike>
  let sessions: Parameters<PodIdentityDeps['createSession']>[0][]
  let audits: AuditEvent[]
  let trustChecks: TrustCheck[]
  let deps: PodIdentityDeps

  beforeEach(async () => {
    store = await openTestStore()
    await addCluster(store, 'c1')
    roles = new Map()
    sessions = []
    audits = []
    trustChecks = []
    for (const r of [
      role('app', podTrust(['sts:AssumeRole', 'sts:TagSession'])),
      role('notag', podTrust(['sts:AssumeRole'])),
    ]) {
      roles.set(r.arn, r)
    }
    deps = {
      now: store.deps.now,
      randomBytes: store.deps.randomBytes,
      repo: store.deps.repo,
      region: 'us-west-2',
      async getCluster(name) {
        const row = await store.deps.repo.getCluster(name)
        return row === undefined
          ? undefined
          : resolveCluster(row, store.deps.defaults, store.deps.resolveIssuer)
      },
      async verifyToken(token, options) {
        const claims = JSON.parse(
          Buffer.from(token.split('.')[1] ?? '', 'base64url').toString(),
        ) as Record<string, unknown>
        const fail = (code: string) => Object.assign(new Error(code), { code })
        if (claims['iss'] !== options.issuer) throw fail('TOKEN_ISSUER_MISMATCH')
        const aud = claims['aud'] as string[]
        if (!options.audiences.some((a) => aud.includes(a))) throw fail('TOKEN_AUDIENCE_MISMATCH')
        if ((claims['exp'] as number) * 1000 <= options.now.getTime()) throw fail('TOKEN_EXPIRED')
        return { claims, subject: claims['sub'] as string, audience: aud }
      },
      getRole: async (arn) => roles.get(arn),
      authorizeTrust: async (check) => {
        trustChecks.push(check)
        return fakeTrust(check)
      },
      async createSession(input) {
        sessions.push(input)
        return {
          credentials: {
            accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
            secretAccessKey: 's'.repeat(40),
            sessionToken: `tok-${sessions.length}`,
            expiration: new Date(store.clock.now.getTime() + input.durationSeconds * 1000),
          },
          assumedRoleUser: {
            arn: `arn:aws:sts::${input.role.accountId}:assumed-role/${input.role.roleName}/${input.sessionName}`,
            assumedRoleId: `${input.role.roleId}:${input.sessionName}`,
          },
        }
      },
      audit: async (e) => {
        audits.push(e)
      },
    }
  })
  afterEach(async () => store.close())

  const associate = (body: Record<string, unknown>) =>
    createAssociation(store.deps, 'c1', {
      namespace: 'ns',
      serviceAccount: 'sa',
      roleArn: roleArn('app'),
      ...body,
    })
  const call = (token: unknown, clusterName = 'c1') =>
    assumeRoleForPodIdentity(deps, { clusterName, token, requestId: 'req-1' })
  const rejectsWith = (p: Promise<unknown>, c: string, status: number) =>
    assert.rejects(
      p,
      (err: unknown) => err instanceof EksAuthError && err.code === c && err.status === status,
    )

  void it('assumes the associated role with the six transitive session tags and the EKS context', async () => {
    const { association } = await associate({})
    const out = await call(podToken())
    assert.deepEqual(out.subject, { namespace: 'ns', serviceAccount: 'sa' })
    assert.equal(out.audience, 'pods.eks.amazonaws.com')
    assert.equal(out.podIdentityAssociation.associationId, association.associationId)
    assert.equal(out.podIdentityAssociation.associationArn, association.associationArn)
    assert.match(
      out.assumedRoleUser.arn,
      /^arn:aws:sts::111122223333:assumed-role\/app\/eks-c1-my-pod-012-[0-9a-f-]{36}$/,
    )
    assert.ok(out.assumedRoleUser.assumeRoleId.startsWith('AROA'))
    assert.equal(typeof out.credentials.expiration, 'number')
    const s = sessions[0]
    assert.ok(s)
    assert.deepEqual(Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.value])), {
      'eks-cluster-arn': `arn:aws:eks:us-west-2:${ACCOUNT}:cluster/c1`,
      'eks-cluster-name': 'c1',
      'kubernetes-namespace': 'ns',
      'kubernetes-service-account': 'sa',
      'kubernetes-pod-name': 'my-pod-0123456789',
      'kubernetes-pod-uid': 'pod-uid-1',
    })
    assert.equal(s.transitiveTagKeys?.length, 6)
    assert.ok(s.durationSeconds >= 3600)
    assert.deepEqual(
      trustChecks.map((t) => t.action),
      ['sts:AssumeRole', 'sts:TagSession'],
    )
    const ctx = trustChecks[0]?.context ?? {}
    assert.equal(ctx['aws:SourceArn'], association.associationArn)
    assert.equal(ctx['aws:SourceAccount'], ACCOUNT)
    assert.equal(ctx['aws:RequestTag/kubernetes-namespace'], 'ns')
    assert.equal(audits.length, 1)
    assert.equal(audits[0]?.eventName, 'AssumeRoleForPodIdentity')
    assert.equal(audits[0]?.errorCode, undefined)
    assert.ok(!JSON.stringify(audits).includes('tok-1'), 'no session token in the audit event')
  })

  void it('requires sts:TagSession unless session tags are disabled', async () => {
    await associate({ roleArn: roleArn('notag') })
    await rejectsWith(call(podToken()), 'AccessDeniedException', 400)
    assert.equal(audits[0]?.errorCode, 'AccessDeniedException')
  })

  void it('skips tags and TagSession when disableSessionTags is set, and applies the policy', async () => {
    const policy =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    await associate({ roleArn: roleArn('notag'), disableSessionTags: true, policy })
    await call(podToken())
    assert.equal(sessions[0]?.tags, undefined)
    assert.equal(sessions[0]?.sessionPolicy, policy)
    assert.deepEqual(
      trustChecks.map((t) => t.action),
      ['sts:AssumeRole'],
    )
  })

  void it('honours trust conditions on aws:SourceAccount (confused deputy guard)', async () => {
    const guarded = role('guarded', {
      Statement: [
        {
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: { StringEquals: { 'aws:SourceAccount': '999999999999' } },
        },
      ],
    })
    roles.set(guarded.arn, guarded)
    await associate({ roleArn: guarded.arn })
    await rejectsWith(call(podToken()), 'AccessDeniedException', 400)
  })

  void it('chains to the target role with sts:ExternalId and inherited transitive tags', async () => {
    const { association } = await associate({ targetRoleArn: roleArn('target', '444455556666') })
    const target = role(
      'target',
      {
        Statement: [
          {
            Principal: { AWS: 'PLACEHOLDER' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Condition: { StringEquals: { 'sts:ExternalId': association.externalId } },
          },
        ],
      },
      '444455556666',
    )
    roles.set(target.arn, target)
    // The fake evaluator matches the principal exactly: allow whatever session ARN the first hop produced.
    const original = deps.authorizeTrust
    deps.authorizeTrust = async (check) =>
      check.role.arn === target.arn
        ? original({ ...check, principal: 'PLACEHOLDER' })
        : original(check)
    const out = await call(podToken())
    assert.equal(sessions.length, 2)
    assert.match(out.assumedRoleUser.arn, /^arn:aws:sts::444455556666:assumed-role\/target\//)
    assert.equal(sessions[1]?.inheritedTransitiveTags?.length, 6)
    assert.equal(sessions[1]?.durationSeconds, 3600)
    const hop2 = trustChecks.find((t) => t.role.arn === target.arn)
    assert.equal(hop2?.context['sts:ExternalId'], association.externalId)
    assert.equal(hop2?.context['aws:PrincipalTag/kubernetes-namespace'], 'ns')
  })

  void it('refuses a target role whose trust lacks the external id', async () => {
    await associate({ targetRoleArn: roleArn('target', '444455556666') })
    roles.set(
      roleArn('target', '444455556666'),
      role(
        'target',
        { Statement: [{ Principal: { AWS: 'x' }, Action: ['sts:AssumeRole'] }] },
        '444455556666',
      ),
    )
    await rejectsWith(call(podToken()), 'AccessDeniedException', 400)
  })

  void it('answers ResourceNotFoundException without an association', async () => {
    await rejectsWith(call(podToken()), 'ResourceNotFoundException', 404)
  })

  void it('maps token failures to InvalidTokenException / ExpiredTokenException', async () => {
    await associate({})
    await rejectsWith(call(podToken({ aud: ['sts.amazonaws.com'] })), 'InvalidTokenException', 400)
    await rejectsWith(
      call(podToken({ iss: 'https://127.0.0.1:7443/issuers/cluster:c2' })),
      'InvalidTokenException',
      400,
    )
    await rejectsWith(
      call(podToken({ exp: Date.parse('2025-01-01T00:00:00Z') / 1000 })),
      'ExpiredTokenException',
      400,
    )
    // Not pod-bound: EKS Auth takes the pod name/uid from the token.
    const unbound = podToken({
      'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'sa', uid: 'u' } },
    })
    await rejectsWith(call(unbound), 'InvalidTokenException', 400)
    // sub disagreeing with the kubernetes.io claims.
    await rejectsWith(
      call(podToken({ sub: 'system:serviceaccount:other:sa' })),
      'InvalidTokenException',
      400,
    )
  })

  void it('validates the request members', async () => {
    await rejectsWith(call(undefined), 'InvalidParameterException', 400)
    await rejectsWith(call(''), 'InvalidParameterException', 400)
    await rejectsWith(call('not-a-jwt'), 'InvalidTokenException', 400)
    await rejectsWith(call(podToken(), '-bad'), 'InvalidParameterException', 400)
    await rejectsWith(call(podToken(), 'unknown'), 'ResourceNotFoundException', 404)
  })

  void it('authorizes the caller before revealing whether a cluster exists', async () => {
    const seen: string[] = []
    deps.authorizeCaller = async (_caller, arn) => {
      seen.push(arn)
      return false
    }
    const caller = { arn: `arn:aws:iam::${ACCOUNT}:user/intruder`, accountId: ACCOUNT }
    await assert.rejects(
      assumeRoleForPodIdentity(deps, {
        clusterName: 'ghost',
        token: podToken(),
        requestId: 'r',
        caller,
      }),
      (err: unknown) => err instanceof EksAuthError && err.code === 'AccessDeniedException',
    )
    assert.deepEqual(seen, [`arn:aws:eks:us-west-2:${ACCOUNT}:cluster/ghost`])
  })

  void it('checks the caller when an authorizer is wired', async () => {
    await associate({})
    deps.authorizeCaller = async () => false
    await assert.rejects(
      assumeRoleForPodIdentity(deps, {
        clusterName: 'c1',
        token: podToken(),
        requestId: 'r',
        caller: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/node/i-1`, accountId: ACCOUNT },
      }),
      (err: unknown) => err instanceof EksAuthError && err.code === 'AccessDeniedException',
    )
  })
})

void describe('podIdentitySessionName', () => {
  void it('cuts cluster and pod names to 10 characters and fits 64', () => {
    const uuid = '16f667fa-2208-4b73-b327-cf12442e874b'
    assert.equal(
      podIdentitySessionName('eks-pod-id-reinf24', 'ek-something', uuid),
      'eks-eks-pod-id-ek-somethi-16f667fa-2208-4b73-b327-cf12442e874b',
    )
    assert.ok(podIdentitySessionName('x'.repeat(100), 'y'.repeat(253), uuid).length <= 64)
  })
})
