/**
 * @module cli/commands/issuer
 * `podtrust issuer publish`: puts a self-hosted cluster's discovery document and JWKS where relying
 * parties fetch them — a folder for any static web host, or s3://BUCKET/PREFIX through the AWS SDK
 * (AWS, or any S3 endpoint named by AWS_ENDPOINT_URL_S3) — with Content-Type application/json.
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { SetupError } from '../../setup/errors.ts'
import { publishCluster } from '../../setup/publish-cluster.ts'
import { requireSetupCluster, saveSetupCluster } from '../../setup/store.ts'
import type { Command } from '../command.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust issuer publish --cluster NAME --to DIR|s3://BUCKET/PREFIX [--data-dir DIR] [--store URL]

Publishes the discovery bundle 'podtrust cluster setup' made for NAME: DIR/.well-known/openid-configuration
and DIR/openid/v1/jwks (or the same keys under the S3 prefix, Content-Type application/json; the bucket policy
for public read of the two objects is printed). S3 uses the standard AWS credentials and AWS_ENDPOINT_URL_S3.

Options:
  --cluster NAME   a cluster set up with 'podtrust cluster setup'
  --to TARGET      a folder, or s3://BUCKET/PREFIX (the prefix is the issuer URL's path)
${storeUsage}
`

export const issuerCommand: Command = {
  name: 'issuer',
  summary: "Publish a self-hosted cluster's discovery document and JWKS (folder or S3)",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { cluster: { type: 'string' }, to: { type: 'string' }, ...storeArgOptions },
    })
    const [sub, extra] = positionals
    if (sub !== 'publish')
      throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`, "use 'issuer publish'")
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
        io.stderr.write(`podtrust: ${err.message}\n${err.hint === undefined ? '' : `  hint: ${err.hint}\n`}`)
        return 1
      }
      throw err
    } finally {
      await db.close()
    }
  },
}
