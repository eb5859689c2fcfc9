/**
 * @module cli/commands/keys
 * `podtrust keys list|rotate`: an issuer's signing keys. Rotation publishes the new key at once and signs
 * with it only after --activate-in seconds (relying parties refresh their JWKS cache meanwhile); older
 * keys stay published until every token they signed has expired.
 * `podtrust keys rotate-sessions`: the keyring that seals STS session tokens; the new key seals from now
 * on, retired keys keep opening the tokens they sealed for RETIRED_KEY_GRACE_MS.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { RETIRED_KEY_GRACE_MS, rotateKeyring } from '../../keys/session-keys.ts'
import {
  DEFAULT_ACTIVATION_DELAY_SECONDS,
  SIGNING_ALGORITHMS,
  listSigningKeys,
  rotateSigningKey,
} from '../../keys/store.ts'
import type { SigningAlgorithm, SigningKeyInfo } from '../../keys/store.ts'
import { IssuerError } from '../../tokens/errors.ts'
import { DEFAULT_ISSUER, ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import type { CliIo, Command } from '../command.ts'
import { intFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust keys list [--issuer NAME | --cluster NAME] [--data-dir DIR] [--store URL]
  podtrust keys rotate [--issuer NAME | --cluster NAME] [--activate-in SECONDS] [--alg ALG]
                       [--data-dir DIR] [--store URL]
  podtrust keys rotate-sessions [--data-dir DIR] [--store URL]

Lists or rotates an issuer's signing keys (default issuer 'default'). rotate-sessions rotates the
keyring that seals STS session tokens: a new key seals from now on (running servers pick it up within
a minute); tokens sealed by the retired keys keep opening for ${RETIRED_KEY_GRACE_MS / 3_600_000} h.

Options:
  --issuer NAME          issuer name ('default', 'cluster:NAME')
  --cluster NAME         the issuer of cluster NAME (same as --issuer cluster:NAME)
  --activate-in SECONDS  publish now, sign from this many seconds on (default ${DEFAULT_ACTIVATION_DELAY_SECONDS}; 0..86400)
  --alg ALG              ${SIGNING_ALGORITHMS.join(', ')} (default RS256)
${storeUsage}
`

function describe(k: SigningKeyInfo, now: Date): string {
  const state =
    k.expireAt !== undefined
      ? `retiring, published until ${k.expireAt.toISOString()}`
      : k.activateAt > now
        ? `published, signs from ${k.activateAt.toISOString()}`
        : 'signing'
  return `${k.kid}  ${k.alg}  created ${k.createdAt.toISOString()}  ${state}`
}

async function rotateSessions(
  values: { 'data-dir'?: string; store?: string },
  io: CliIo,
): Promise<number> {
  const db = await openStore(values, io)
  try {
    const kid = await db.transaction((tx) =>
      rotateKeyring(tx, new Date(), (n) => new Uint8Array(randomBytes(n))),
    )
    io.stdout.write(
      `new session-token key ${kid} seals from now on; tokens sealed by retired keys keep opening for ${RETIRED_KEY_GRACE_MS / 3_600_000} h\n`,
    )
    return 0
  } finally {
    await db.close()
  }
}

export const keysCommand: Command = {
  name: 'keys',
  summary: "List or rotate an issuer's signing keys, or rotate the session-token keyring",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        issuer: { type: 'string' },
        cluster: { type: 'string' },
        'activate-in': { type: 'string' },
        alg: { type: 'string' },
        ...storeArgOptions,
      },
    })
    const [sub, ...extra] = positionals
    if (sub !== 'list' && sub !== 'rotate' && sub !== 'rotate-sessions') {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        "use 'keys list', 'keys rotate' or 'keys rotate-sessions'",
      )
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    if (sub === 'rotate-sessions') {
      for (const opt of ['issuer', 'cluster', 'activate-in', 'alg'] as const) {
        if (values[opt] !== undefined)
          throw new UsageError(`--${opt} does not apply to 'keys rotate-sessions'`)
      }
      return rotateSessions(values, io)
    }
    if (values.issuer !== undefined && values.cluster !== undefined) {
      throw new UsageError('give --issuer or --cluster, not both')
    }
    const issuer =
      values.cluster !== undefined ? `cluster:${values.cluster}` : (values.issuer ?? DEFAULT_ISSUER)
    const delay = intFlag('activate-in', values['activate-in'], 0, 86_400)
    const alg = values.alg
    if (alg !== undefined && !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}, got '${alg}'`)
    }
    if (sub === 'list' && (delay !== undefined || alg !== undefined)) {
      throw new UsageError('--activate-in and --alg apply to rotate only')
    }
    const db = await openStore(values, io)
    try {
      if (issuer === DEFAULT_ISSUER) await ensureIssuer(db, DEFAULT_ISSUER)
      else if ((await getIssuer(db, issuer)) === undefined) {
        throw new IssuerError('ISSUER_NOT_FOUND', `issuer '${issuer}' does not exist`, {
          hint: issuer.startsWith('cluster:')
            ? `register it: podtrust cluster add ${issuer.slice(8)}`
            : "see 'podtrust export' for the issuers",
        })
      }
      const now = new Date()
      if (sub === 'list') {
        for (const k of await listSigningKeys(db, issuer)) io.stdout.write(`${describe(k, now)}\n`)
        return 0
      }
      const result = await db.transaction((tx) =>
        rotateSigningKey(tx, issuer, {
          now,
          ...(delay === undefined ? {} : { activationDelaySeconds: delay }),
          ...(alg === undefined ? {} : { alg: alg as SigningAlgorithm }),
        }),
      )
      io.stdout.write(
        `new key ${result.key.kid} (${result.key.alg}) published; signs from ${result.key.activateAt.toISOString()}\n`,
      )
      for (const k of result.retiring) io.stdout.write(`  ${describe(k, now)}\n`)
      return 0
    } finally {
      await db.close()
    }
  },
}
