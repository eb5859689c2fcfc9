/**
 * @module setup/publish
 * Publishes a self-hosted issuer's discovery bundle where relying parties fetch it: a folder any static
 * web host serves, or an S3 bucket through the AWS SDK for JavaScript v3 (so it works against AWS and
 * against any S3-compatible endpoint named by AWS_ENDPOINT_URL_S3, podtrust's gateway included). Both
 * objects carry `Content-Type: application/json`; the bucket policy that lets anyone read exactly those two
 * objects is printed (and written next to the bundle) for the operator to apply.
 */
import { DISCOVERY_CONTENT_TYPE } from './discovery.ts'
import { SetupError } from './errors.ts'
import { writeOutputFiles } from './files.ts'
import { DISCOVERY_DIR, type OutputFile, discoveryFiles } from './render.ts'
import type { SetupCluster } from './store.ts'

export type PublishTarget =
  { kind: 'dir'; dir: string } | { kind: 's3'; bucket: string; prefix: string }

export function parsePublishTarget(raw: string, resolveDir: (p: string) => string): PublishTarget {
  if (raw.startsWith('s3://')) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw)
    if (m?.[1] === undefined) {
      throw new SetupError('SETUP_INVALID', `--to ${raw} is not an s3://BUCKET[/PREFIX] URL`, {
        hint: 'bucket names are 3-63 lower-case letters, digits, dots and hyphens',
      })
    }
    return { kind: 's3', bucket: m[1], prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new SetupError('SETUP_INVALID', `--to ${raw}: only a folder or s3://BUCKET/PREFIX`)
  }
  return { kind: 'dir', dir: resolveDir(raw) }
}

/** The two objects under the bucket's prefix (or the folder), relative, with bodies. */
export function publishedObjects(c: SetupCluster): { key: string; body: string }[] {
  return discoveryFiles(c).map((f: OutputFile) => ({
    key: f.path.slice(DISCOVERY_DIR.length + 1),
    body: f.content,
  }))
}

/** A bucket policy granting public s3:GetObject on exactly the two discovery objects. */
export function publicReadPolicy(bucket: string, prefix: string, keys: readonly string[]): object {
  const base = prefix === '' ? '' : `${prefix}/`
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PodtrustPublicOidcDiscovery',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: keys.map((k) => `arn:aws:s3:::${bucket}/${base}${k}`),
      },
    ],
  }
}

export interface PublishResult {
  target: string
  urls: string[]
  bucketPolicy?: object
}

export async function publishToDir(c: SetupCluster, dir: string): Promise<PublishResult> {
  const objects = publishedObjects(c)
  await writeOutputFiles(
    dir,
    objects.map((o) => ({ path: o.key, content: o.body, mode: 0o644 })),
  )
  return { target: dir, urls: objects.map((o) => `${dir}/${o.key}`) }
}

export async function publishToS3(
  c: SetupCluster,
  bucket: string,
  prefix: string,
  env: Record<string, string | undefined>,
): Promise<PublishResult> {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3')
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL']
  const client = new S3Client({
    region: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    // A custom endpoint (the gateway, a local S3) rarely has per-bucket DNS names: path-style requests.
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    // Keys in the command's environment first (the CLI's env may differ from the process's in tests and
    // embedders); otherwise the SDK's default chain (profiles, SSO, IMDS, container credentials).
    ...(env['AWS_ACCESS_KEY_ID'] !== undefined && env['AWS_SECRET_ACCESS_KEY'] !== undefined
      ? {
          credentials: {
            accessKeyId: env['AWS_ACCESS_KEY_ID'],
            secretAccessKey: env['AWS_SECRET_ACCESS_KEY'],
            ...(env['AWS_SESSION_TOKEN'] === undefined
              ? {}
              : { sessionToken: env['AWS_SESSION_TOKEN'] }),
          },
        }
      : {}),
  })
  const objects = publishedObjects(c)
  const base = prefix === '' ? '' : `${prefix}/`
  try {
    for (const o of objects) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${base}${o.key}`,
          Body: o.body,
          ContentType: DISCOVERY_CONTENT_TYPE,
          CacheControl: 'max-age=300',
        }),
      )
    }
  } catch (err) {
    const e = err as { name?: string; message?: string }
    throw new SetupError(
      'PUBLISH_FAILED',
      `S3 PutObject to s3://${bucket}/${base} failed: ${e.name ?? 'Error'}: ${e.message ?? ''}`,
      {
        hint: 'check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…), the bucket name and s3:PutObject permission',
        cause: err,
      },
    )
  } finally {
    client.destroy()
  }
  return {
    target: `s3://${bucket}/${base}`,
    urls: objects.map((o) => `s3://${bucket}/${base}${o.key}`),
    bucketPolicy: publicReadPolicy(
      bucket,
      prefix,
      objects.map((o) => o.key),
    ),
  }
}
