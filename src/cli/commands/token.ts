/**
 * @module cli/commands/token
 * `podtrust token`: mints a service-account token with kube-apiserver's claim layout, from the store
 * directly, so it works with the server running or stopped.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../keys/store.ts'
import { DEFAULT_ISSUER, ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import { IssuerError } from '../../tokens/errors.ts'
import { deriveUid, mintServiceAccountToken } from '../../tokens/mint.ts'
import type { Command } from '../command.ts'
import { intFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust token --namespace NS --service-account SA [--audience A]... [--expiration SECONDS]
                 [--pod NAME] [--pod-uid UID] [--cluster NAME] [--out FILE] [--data-dir DIR] [--store URL]

Prints a service-account token (kube-apiserver claim layout) signed by podtrust's issuer, or writes it
to --out FILE (mode 0600), e.g. where AWS_WEB_IDENTITY_TOKEN_FILE points. Works with the server stopped.

Options:
  --namespace NS         the service account's namespace (required)
  --service-account SA   the service account's name (required)
  --audience A           the token's audience; repeatable (default sts.amazonaws.com)
  --expiration SECONDS   lifetime, 1..${MAX_TOKEN_LIFETIME_SECONDS} (default 3600)
  --pod NAME             add the pod claim (uid derived from namespace + name unless --pod-uid)
  --pod-uid UID          the pod's uid (needs --pod)
  --cluster NAME         sign with the issuer of a cluster registered by 'podtrust cluster add NAME'
  --out FILE             write the token to FILE instead of stdout
${storeUsage}
`

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Mint a service-account token (kube-apiserver claims) for a namespace/service account',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        'service-account': { type: 'string' },
        audience: { type: 'string', multiple: true },
        expiration: { type: 'string' },
        pod: { type: 'string' },
        'pod-uid': { type: 'string' },
        cluster: { type: 'string' },
        out: { type: 'string' },
        ...storeArgOptions,
      },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const namespace = values.namespace
    const serviceAccount = values['service-account']
    if (namespace === undefined) throw new UsageError('--namespace is required')
    if (serviceAccount === undefined) throw new UsageError('--service-account is required')
    if (values['pod-uid'] !== undefined && values.pod === undefined) {
      throw new UsageError('--pod-uid needs --pod NAME')
    }
    if (values['pod-uid'] !== undefined && !/^[A-Za-z0-9-]{1,128}$/.test(values['pod-uid'])) {
      throw new UsageError(
        `--pod-uid must be a UID (letters, digits and -), got '${values['pod-uid']}'`,
      )
    }
    if (values.cluster !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(values.cluster)) {
      throw new UsageError(`invalid cluster name '${values.cluster}'`)
    }
    const expirationSeconds = intFlag(
      'expiration',
      values.expiration,
      1,
      MAX_TOKEN_LIFETIME_SECONDS,
    )
    const audiences = values.audience ?? ['sts.amazonaws.com']
    if (audiences.some((a) => a.trim() === '')) throw new UsageError('--audience must not be empty')

    const db = await openStore(values, io)
    try {
      let issuer = DEFAULT_ISSUER
      if (values.cluster !== undefined) {
        issuer = `cluster:${values.cluster}`
        if ((await getIssuer(db, issuer)) === undefined) {
          throw new IssuerError(
            'ISSUER_NOT_FOUND',
            `cluster '${values.cluster}' has no podtrust issuer`,
            {
              hint: `register it first: podtrust cluster add ${values.cluster}`,
            },
          )
        }
      } else {
        // Offline before the first 'up': the default issuer is created with the default https URL.
        await ensureIssuer(db, DEFAULT_ISSUER)
      }
      const pod =
        values.pod === undefined
          ? undefined
          : { name: values.pod, uid: values['pod-uid'] ?? deriveUid('pod', namespace, values.pod) }
      const token = await mintServiceAccountToken(db, {
        issuer,
        namespace,
        serviceAccount,
        audiences,
        ...(expirationSeconds === undefined ? {} : { expirationSeconds }),
        ...(pod === undefined ? {} : { pod }),
        now: new Date(),
      })
      if (values.out === undefined) {
        io.stdout.write(`${token}\n`)
      } else {
        const file = resolve(io.cwd, values.out)
        mkdirSync(dirname(file), { recursive: true })
        // Atomic replace: an SDK re-reading the file never sees a half-written token.
        const tmp = `${file}.${process.pid}.tmp`
        writeFileSync(tmp, token, { mode: 0o600 })
        chmodSync(tmp, 0o600)
        renameSync(tmp, file)
        io.stderr.write(`token written to ${file}\n`)
      }
      return 0
    } finally {
      await db.close()
    }
  },
}
