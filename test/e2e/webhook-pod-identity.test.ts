/**
 * Pod Identity associations from podtrust's own EKS API, end to end: a real in-process podtrust server,
 * associations created through the EKS API with the AWS SDK, the webhook's source polling
 * ListPodIdentityAssociations (SigV4, every page), the on-miss lookup of a brand-new association, a
 * failing poll keeping the last good set, and the whole webhook (`startWebhook` with --podtrust-endpoint
 * and --podtrust-cluster) mutating a pod for Pod Identity.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreatePodIdentityAssociationCommand, EKSClient } from '@aws-sdk/client-eks'
import { parseServeFlags } from '../../src/kube/flags.ts'
import { startEksPodIdentitySource } from '../../src/kube/pod-identity-eks.ts'
import { startWebhook } from '../../src/kube/webhook.ts'
import { type Fixture, REGION, podTrust, startFixture } from './pod-identity-fixture.ts'
import { decodeResponse, envOf, pod, recordingLogger, review } from '../unit/kube/helpers.ts'

void describe('webhook Pod Identity source: podtrust EKS API', () => {
  let f: Fixture
  let eks: EKSClient
  const associate = (namespace: string, serviceAccount: string) =>
    eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace,
        serviceAccount,
        roleArn: f.roleArn('app'),
      }),
    )

  before(async () => {
    f = await startFixture()
    await f.addRole('app', podTrust(['sts:AssumeRole', 'sts:TagSession']))
    eks = new EKSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials: f.admin,
      maxAttempts: 1,
    })
    await associate('apps', 's3-reader')
    await associate('apps', 'batch')
    await associate('jobs', 'nightly')
    // Another cluster's association must not leak in.
    await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c2',
        namespace: 'apps',
        serviceAccount: 'other',
        roleArn: f.roleArn('app'),
      }),
    )
  })
  after(async () => {
    eks?.destroy()
    await f?.close()
  })

  void it('lists every page, signed with SigV4, for its cluster only', async () => {
    const log = recordingLogger()
    const sizes: number[] = []
    const source = startEksPodIdentitySource({
      endpoint: f.server.baseUrl,
      cluster: 'c1',
      region: REGION,
      credentials: () => f.admin,
      pageSize: 2,
      log,
      onChange: (n) => sizes.push(n),
    })
    try {
      await source.firstSync
      assert.equal(source.size(), 3)
      assert.equal(source.has('apps', 's3-reader'), true)
      assert.equal(source.has('jobs', 'nightly'), true)
      assert.equal(source.has('apps', 'other'), false)
      assert.deepEqual(sizes, [3])
      assert.ok(!log.text().includes(f.admin.secretAccessKey))
    } finally {
      await source.close()
    }
  })

  void it('finds a brand-new association on demand (the reference race, its issue #264)', async () => {
    const source = startEksPodIdentitySource({
      endpoint: f.server.baseUrl,
      cluster: 'c1',
      region: REGION,
      credentials: () => f.admin,
      pollMs: 3_600_000,
      log: recordingLogger(),
    })
    try {
      await source.firstSync
      await associate('apps', 'fresh')
      assert.equal(source.has('apps', 'fresh'), false, 'not polled yet')
      assert.equal(await source.refresh('apps', 'fresh', 2000), true)
      assert.equal(source.has('apps', 'fresh'), true)
      assert.equal(await source.refresh('apps', 'none', 2000), false)
    } finally {
      await source.close()
    }
  })

  void it('keeps the last good set when a poll fails (no permission, no credentials)', async () => {
    const log = recordingLogger()
    let credentials: { accessKeyId: string; secretAccessKey: string } | undefined = f.admin
    const errors: unknown[] = []
    const source = startEksPodIdentitySource({
      endpoint: f.server.baseUrl,
      cluster: 'c1',
      region: REGION,
      credentials: () => credentials,
      pollMs: 3_600_000,
      log,
      onError: (e) => errors.push(e),
    })
    try {
      await source.firstSync
      const known = source.size()
      assert.ok(known >= 3)
      credentials = f.node // may call EKS Auth, not ListPodIdentityAssociations
      await source.pollNow()
      assert.equal(source.size(), known)
      assert.match(String(log.lines.at(-1)?.fields['error']), /AccessDeniedException/)
      credentials = undefined
      await source.pollNow()
      assert.match(String(log.lines.at(-1)?.fields['error']), /no AWS credentials/)
      assert.equal(source.size(), known)
      assert.equal(errors.length, 2)
    } finally {
      await source.close()
    }
  })

  void it('drives the whole webhook: a pod of an associated ServiceAccount gets Pod Identity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-pi-'))
    writeFileSync(
      join(dir, 'sa.yaml'),
      'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s3-reader\n  namespace: apps\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader\n',
    )
    const options = parseServeFlags(
      [
        '--port=0',
        '--metrics-port=0',
        '--tls-from-ca',
        '--data-dir',
        dir,
        '--dns-name',
        '127.0.0.1',
        '--service-accounts-dir',
        dir,
        '--podtrust-endpoint',
        f.server.baseUrl,
        '--podtrust-cluster',
        'c1',
      ],
      {},
    )
    const hook = await startWebhook(options, {
      env: {
        AWS_ACCESS_KEY_ID: f.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: f.admin.secretAccessKey,
        HOME: dir,
      },
      log: recordingLogger(),
      defaultDataDir: dir,
      host: '127.0.0.1',
    })
    try {
      const ca = Buffer.from(hook.caBundle ?? '', 'base64').toString()
      const body = review(pod('apps', 's3-reader'))
      const answer = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: hook.port,
            method: 'POST',
            path: '/mutate',
            ca,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let b = ''
            res.on('data', (c: Buffer) => (b += c.toString()))
            res.on('end', () => resolve(b))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
      const got = decodeResponse(answer)
      assert.equal(got.response.allowed, true)
      const env = envOf(got.ops)
      assert.equal(
        env['AWS_CONTAINER_CREDENTIALS_FULL_URI'],
        'http://169.254.170.23/v1/credentials',
      )
      assert.equal(env['AWS_ROLE_ARN'], undefined, 'the association wins over role-arn')
      assert.match(
        await hook.metrics.registry.getSingleMetricAsString('pod_identity_webhook_pod_count'),
        /method="container_credentials"} 1/,
      )
    } finally {
      await hook.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
