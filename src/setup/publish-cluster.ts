/**
 * @module setup/publish-cluster
 * One publish of a cluster's bundle to a folder or an S3 prefix, printed as it goes, and recorded on the
 * cluster (a rotation's `publish` step advances with it).
 */
import { resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { parsePublishTarget, publishToDir, publishToS3 } from './publish.ts'
import { markPublished } from './rotate.ts'
import type { SetupCluster } from './store.ts'

export async function publishCluster(
  c: SetupCluster,
  to: string,
  io: { stdout: Writable; env: Record<string, string | undefined>; cwd: string },
  now: Date,
): Promise<SetupCluster> {
  const target = parsePublishTarget(to, (p) => resolve(io.cwd, p))
  const result =
    target.kind === 'dir'
      ? await publishToDir(c, target.dir)
      : await publishToS3(c, target.bucket, target.prefix, io.env)
  for (const u of result.urls) io.stdout.write(`published ${u} (application/json)\n`)
  if (result.bucketPolicy !== undefined) {
    io.stdout.write(
      'bucket policy for public read of the two objects (aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json):\n',
    )
    io.stdout.write(`${JSON.stringify(result.bucketPolicy, null, 2)}\n`)
  }
  io.stdout.write(`relying parties fetch ${c.issuerUrl}/.well-known/openid-configuration\n`)
  return markPublished(c, target.kind === 'dir' ? target.dir : to, now)
}
