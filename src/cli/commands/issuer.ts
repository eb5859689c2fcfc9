/**
 * @module cli/commands/issuer
 * `podtrust issuer show|set-url|publish`.
 * - `show`/`set-url`: the default issuer's URL is a deployment-wide setting stored in the store; replica
 *   starts never change an explicitly set URL (see src/server/identity-settings.ts), this command does.
 * - `publish`: puts a self-hosted cluster's discovery document and JWKS where relying parties fetch them —
 *   a folder for any static web host, or s3://BUCKET/PREFIX through the AWS SDK (AWS, or any S3 endpoint
 *   named by AWS_ENDPOINT_URL_S3) — with Content-Type application/json.
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { SetupError } from '../../setup/errors.ts'
import { publishCluster } from '../../setup/publish-cluster.ts'
import { requireSetupCluster, saveSetupCluster } from '../../setup/store.ts'
import { DEFAULT_ISSUER, ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import type { Command } from '../command.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust issuer show [--data-dir DIR] [--store URL]
  podtrust issuer set-url URL [--data-dir DIR] [--store URL]
  podtrust issuer publish --cluster NAME --to DIR|s3://BUCKET/PREFIX [--data-dir DIR] [--store URL]

The default issuer's URL (the \`iss\` of every token podtrust signs, and its discovery document) is stored
once for the whole deployment. \`set-url\` changes it for every replica: tokens signed for the old URL stop
verifying, so restart the replicas with the same --issuer-url and re-issue tokens.

\`publish\` writes the discovery bundle 'podtrust cluster setup' made for a self-hosted cluster NAME:
DIR/.well-known/openid-configuration and DIR/openid/v1/jwks (or the same keys under the S3 prefix,
Content-Type application/json; the bucket policy for public read of the two objects is printed). S3 uses
the standard AWS credentials and AWS_ENDPOINT_URL_S3 (docs/self-hosted.md).

Options:
  --cluster NAME   (publish) a cluster set up with 'podtrust cluster setup'
  --to TARGET      (publish) a folder, or s3://BUCKET/PREFIX (the prefix is the issuer URL's path)
${storeUsage}
`

export const issuerCommand: Command = {
  name: 'issuer',
  summary: "Show or change the default issuer URL; publish a self-hosted cluster's discovery",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { cluster: { type: 'string' }, to: { type: 'string' }, ...storeArgOptions },
    })
    const [sub, url, extra] = positionals
    if (sub !== 'show' && sub !== 'set-url' && sub !== 'publish')
      throw new UsageError('expected `show`, `set-url URL` or `publish --cluster NAME --to TARGET`')
    if (sub === 'publish') return publish(url, values, io)
    if (values.cluster !== undefined || values.to !== undefined)
      throw new UsageError('--cluster and --to apply to `issuer publish` only')
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
    if (sub === 'set-url' && url === undefined) throw new UsageError('set-url needs the new URL')
    if (sub === 'show' && url !== undefined) throw new UsageError(`unexpected argument '${url}'`)
    const db = await openStore(values, io)
    try {
      if (sub === 'show') {
        io.stdout.write(`${(await getIssuer(db, DEFAULT_ISSUER))?.url ?? '(not set)'}\n`)
        return 0
      }
      const before = (await getIssuer(db, DEFAULT_ISSUER))?.url
      const after = (await ensureIssuer(db, DEFAULT_ISSUER, { url: url!, now: new Date() })).url
      io.stdout.write(
        before === after
          ? `issuer URL unchanged: ${after}\n`
          : `issuer URL changed from ${before ?? '(not set)'} to ${after}\n`,
      )
      return 0
    } finally {
      await db.close()
    }
  },
}

async function publish(
  extra: string | undefined,
  values: {
    cluster?: string | undefined
    to?: string | undefined
    'data-dir'?: string | undefined
    store?: string | undefined
  },
  io: Parameters<Command['run']>[1],
): Promise<number> {
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (values.cluster === undefined) throw new UsageError('--cluster NAME is required')
  if (values.to === undefined) throw new UsageError('--to DIR|s3://BUCKET/PREFIX is required')
  const db = await openStore(values, io)
  try {
    const now = new Date()
    const c = await requireSetupCluster(db, values.cluster)
    await saveSetupCluster(db, await publishCluster(c, values.to, io, now), now)
    return 0
  } catch (err) {
    if (err instanceof SetupError) {
      io.stderr.write(
        `podtrust: ${err.message}\n${err.hint === undefined ? '' : `  hint: ${err.hint}\n`}`,
      )
      return 1
    }
    throw err
  } finally {
    await db.close()
  }
}
