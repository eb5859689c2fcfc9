/**
 * @module cli/commands/cluster-selfhosted
 * `podtrust cluster setup|verify|rotate`: the self-hosted issuer kit (src/setup/). `setup` creates or
 * imports the service-account key pair, writes the kube-apiserver flags in the distribution's form, the key
 * files and the discovery bundle, prints the thumbprint and cloud-side commands, and registers the cluster
 * (as `cluster add NAME --issuer URL` does). `verify` checks a real token against what is published;
 * `rotate` drives a key rotation one checked step at a time.
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { putCluster } from '../../aws/eks/config.ts'
import { UsageError } from '../../errors.ts'
import { CLOUDS, type Cloud } from '../../setup/cloud.ts'
import { SetupError } from '../../setup/errors.ts'
import { writeOutputFiles } from '../../setup/files.ts'
import { DISTROS, type Distro } from '../../setup/flags.ts'
import { publishCluster } from '../../setup/publish-cluster.ts'
import { NEXT_KEY_PATH, SIGNING_KEY_PATH, renderClusterFiles } from '../../setup/render.ts'
import {
  ROTATION_STEPS,
  type RotationStep,
  addNextKey,
  check as checkStep,
  requirePublishStep,
  retirePreviousKey,
  rotationStatus,
  switchSigningKey,
} from '../../setup/rotate.ts'
import { planSetup } from '../../setup/setup.ts'
import { getSetupCluster, requireSetupCluster, saveSetupCluster } from '../../setup/store.ts'
import { verifyPublishedIssuer } from '../../setup/verify.ts'
import { isLoopbackHost } from '../../tokens/netguard.ts'
import { createTokenVerifier } from '../../tokens/verify.ts'
import { readFileSync } from 'node:fs'
import type { CliIo } from '../command.ts'
import { openStore, storeArgOptions } from '../store-options.ts'

export const selfHostedUsage = `  podtrust cluster setup NAME --distro kubeadm|k3s|kind|rke2 --issuer-url URL --out DIR
                         [--key FILE] [--alg RS256|ES256] [--clouds aws,azure,gcp] [--ca-file FILE]
                         [--audiences A,B] [--max-token-lifetime SECONDS] [--dry-run] [--data-dir DIR]
  podtrust cluster verify NAME --token FILE [--audience A] [--ca-file FILE] [--allow-loopback] [--data-dir DIR]
  podtrust cluster rotate NAME --step add-next|publish|switch|retire [--to DIR|s3://…] [--data-dir DIR]
  podtrust cluster rotate NAME --status [--data-dir DIR]
`

const setupHelp = `Self-hosted clusters (docs/self-hosted.md):
  setup    creates (or --key imports) the service-account signing key pair and writes into --out: keys/
           (sa.key 0600, sa.pub), the kube-apiserver flags in the distro's form, discovery/ (the
           .well-known/openid-configuration and openid/v1/jwks to publish); prints the thumbprint (from
           --ca-file, the issuer host's PEM chain, else the openssl commands) and the --clouds commands;
           registers the cluster. --dry-run prints instead of writing.
  verify   fetches the published discovery and JWKS as AWS STS does and checks the token; exit 0 when valid.
           --ca-file trusts a private CA; --allow-loopback (development) accepts an issuer on this machine.
  rotate   add-next → publish → switch → retire, each checked; --status shows when retire is safe.
`

export const selfHostedHelp = `${selfHostedUsage}\n${setupHelp}`

const SUBCOMMANDS = ['setup', 'verify', 'rotate'] as const
export function isSelfHostedSubcommand(sub: string | undefined): boolean {
  return (SUBCOMMANDS as readonly string[]).includes(sub ?? '')
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      distro: { type: 'string' },
      'issuer-url': { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string' },
      alg: { type: 'string' },
      clouds: { type: 'string' },
      'ca-file': { type: 'string' },
      audiences: { type: 'string' },
      'max-token-lifetime': { type: 'string' },
      'dry-run': { type: 'boolean' },
      token: { type: 'string' },
      audience: { type: 'string', multiple: true },
      step: { type: 'string' },
      status: { type: 'boolean' },
      to: { type: 'string' },
      now: { type: 'string' },
      'allow-loopback': { type: 'boolean' },
      ...storeArgOptions,
    },
  })
}

type Values = ReturnType<typeof parse>['values']

function nowOf(values: Values): Date {
  if (values.now === undefined) return new Date()
  const d = new Date(values.now)
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`--now '${values.now}' is not a date`, 'e.g. 2026-12-07T10:00:00Z')
  return d
}

function only(values: Values, sub: string, allowed: readonly (keyof Values)[]): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || k === 'data-dir' || k === 'store' || k === 'now') continue
    if (!(allowed as readonly string[]).includes(k))
      throw new UsageError(`--${k} does not apply to 'cluster ${sub}'`)
  }
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof SetupError) {
    io.stderr.write(
      `podtrust: ${err.message}\n${err.hint === undefined ? '' : `  hint: ${err.hint}\n`}`,
    )
    return 1
  }
  throw err
}

export async function runSelfHosted(sub: string, argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv)
  const [name, extra] = positionals
  if (name === undefined) throw new UsageError('missing cluster NAME')
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  try {
    if (sub === 'setup') return await setup(name, values, io)
    if (sub === 'verify') return await verify(name, values, io)
    return await rotate(name, values, io)
  } catch (err) {
    return report(err, io)
  }
}

async function setup(name: string, values: Values, io: CliIo): Promise<number> {
  only(values, 'setup', [
    'distro',
    'issuer-url',
    'out',
    'key',
    'alg',
    'clouds',
    'ca-file',
    'audiences',
    'max-token-lifetime',
    'dry-run',
  ])
  const distro = values.distro as Distro | undefined
  if (distro === undefined || !DISTROS.includes(distro))
    throw new UsageError(`--distro must be one of ${DISTROS.join(', ')}`)
  if (values['issuer-url'] === undefined)
    throw new UsageError(
      '--issuer-url is required',
      'the https URL the discovery bundle is published at',
    )
  if (!/^https?:\/\/[^\s?#]+$/.test(values['issuer-url']))
    throw new UsageError(
      `--issuer-url '${values['issuer-url']}' must be an https URL without query or fragment`,
    )
  const issuerUrl = values['issuer-url']
  if (values.out === undefined && values['dry-run'] !== true)
    throw new UsageError('--out DIR is required (or --dry-run to print)')
  const outDir = resolve(io.cwd, values.out ?? 'podtrust-setup')
  const clouds = (values.clouds ?? '').split(',').filter((c) => c !== '') as Cloud[]
  for (const c of clouds)
    if (!CLOUDS.includes(c))
      throw new UsageError(`--clouds: unknown cloud '${c}'`, 'use aws, azure, gcp')
  if (values.alg !== undefined && values.alg !== 'RS256' && values.alg !== 'ES256')
    throw new UsageError('--alg must be RS256 or ES256')
  const maxLifetime =
    values['max-token-lifetime'] === undefined ? undefined : Number(values['max-token-lifetime'])
  if (
    maxLifetime !== undefined &&
    (!Number.isInteger(maxLifetime) || maxLifetime < 600 || maxLifetime > 31_536_000)
  )
    throw new UsageError('--max-token-lifetime must be whole seconds from 600 to 31536000')
  const now = nowOf(values)
  const readText = (p: string) => readFileSync(isAbsolute(p) ? p : resolve(io.cwd, p), 'utf8')
  const plan = planSetup({
    name,
    distro,
    issuerUrl,
    outDir,
    clouds,
    now,
    ...(values.key === undefined ? {} : { importKeyPem: readText(values.key) }),
    ...(values.alg === undefined ? {} : { alg: values.alg as 'RS256' | 'ES256' }),
    ...(values['ca-file'] === undefined ? {} : { caChainPem: readText(values['ca-file']) }),
    ...(values.audiences === undefined
      ? {}
      : { audiences: values.audiences.split(',').filter((a) => a !== '') }),
    ...(maxLifetime === undefined ? {} : { maxTokenLifetimeSeconds: maxLifetime }),
  })
  if (values['dry-run'] === true) {
    for (const f of plan.files) {
      io.stdout.write(`==> ${outDir}/${f.path} (mode ${f.mode.toString(8)})\n`)
      // The private key is never printed.
      io.stdout.write(f.mode === 0o600 ? '(private key, not shown)\n' : f.content)
    }
    io.stdout.write(`${plan.instructions.join('\n')}\n`)
    return 0
  }
  const db = await openStore(values, io)
  try {
    if ((await getSetupCluster(db, name)) !== undefined) {
      throw new SetupError('SETUP_EXISTS', `cluster '${name}' is already set up`, {
        hint: `rotate its key with 'podtrust cluster rotate ${name} --step add-next', or 'podtrust cluster remove ${name}' first`,
      })
    }
    await writeOutputFiles(outDir, plan.files)
    await saveSetupCluster(db, plan.cluster, now)
    // The same registration as `cluster add NAME --issuer URL` (EKS clusters take https issuers only).
    if (issuerUrl.startsWith('https:')) await putCluster(db, { name, issuer: issuerUrl }, now)
  } finally {
    await db.close()
  }
  io.stdout.write(`cluster ${name} set up for ${distro}: key ${plan.key.kid} (${plan.key.alg})\n`)
  io.stdout.write(`  wrote ${plan.files.length} files under ${outDir} (keys/sa.key mode 0600)\n`)
  io.stdout.write(`  issuer: ${issuerUrl}\n`)
  if (!issuerUrl.startsWith('https:'))
    io.stdout.write(
      '  WARNING: a plain-http issuer is for development on this machine only; clouds fetch https only, and the cluster is not registered for Pod Identity\n',
    )
  if (plan.thumbprint !== undefined) io.stdout.write(`  thumbprint: ${plan.thumbprint}\n`)
  io.stdout.write(`\n${plan.instructions.join('\n')}\n`)
  return 0
}

async function verify(name: string, values: Values, io: CliIo): Promise<number> {
  only(values, 'verify', ['token', 'audience', 'ca-file', 'allow-loopback'])
  if (values.token === undefined)
    throw new UsageError(
      '--token FILE is required',
      'e.g. kubectl create token default --audience sts.amazonaws.com > token.jwt',
    )
  const token = (await readFile(resolve(io.cwd, values.token), 'utf8')).trim()
  const caBundle =
    values['ca-file'] === undefined
      ? undefined
      : await readFile(resolve(io.cwd, values['ca-file']), 'utf8')
  const db = await openStore(values, io)
  try {
    const c = await requireSetupCluster(db, name)
    const now = nowOf(values)
    // An issuer on this machine (development) may be fetched on loopback; otherwise loopback, private and
    // link-local addresses are refused, as AWS refuses them.
    const policy = {
      allowHttpLoopback:
        values['allow-loopback'] === true || isLoopbackHost(new URL(c.issuerUrl).hostname),
      allowPrivateNetworks: false,
    }
    const report = await verifyPublishedIssuer({
      issuerUrl: c.issuerUrl,
      token,
      now,
      policy,
      verifier: createTokenVerifier({
        db,
        now: () => now,
        allowHttpLoopback: policy.allowHttpLoopback,
      }),
      ...(values.audience === undefined ? {} : { audiences: values.audience }),
      ...(caBundle === undefined ? {} : { caBundle }),
    })
    for (const p of report.passed) io.stdout.write(`ok: ${p}\n`)
    for (const p of report.problems)
      io.stdout.write(`FAIL ${p.code}: ${p.message}\n  fix: ${p.hint}\n`)
    io.stdout.write(
      report.ok
        ? `cluster ${name}: the published issuer validates the token\n`
        : `cluster ${name}: ${report.problems.length} problem(s)\n`,
    )
    return report.ok ? 0 : 1
  } finally {
    await db.close()
  }
}

async function rotate(name: string, values: Values, io: CliIo): Promise<number> {
  only(values, 'rotate', ['step', 'status', 'to'])
  if ((values.step === undefined) === (values.status !== true))
    throw new UsageError('give --step STEP or --status', `steps: ${ROTATION_STEPS.join(', ')}`)
  const step = values.step as RotationStep | undefined
  if (step !== undefined && !ROTATION_STEPS.includes(step))
    throw new UsageError(`--step must be one of ${ROTATION_STEPS.join(', ')}`)
  const now = nowOf(values)
  const db = await openStore(values, io)
  try {
    let c = await requireSetupCluster(db, name)
    if (step === undefined) {
      io.stdout.write(`${rotationStatus(c, now).join('\n')}\n`)
      return 0
    }
    switch (step) {
      case 'add-next': {
        const { cluster, key } = addNextKey(c, now)
        c = cluster
        await writeOutputFiles(c.outDir, [
          { path: NEXT_KEY_PATH, content: key.privatePem, mode: 0o600 },
          ...renderClusterFiles(c, c.outDir),
        ])
        io.stdout.write(`next key ${key.kid} added to ${c.outDir}/keys/sa.pub and the JWKS\n`)
        io.stdout.write(
          `next: podtrust cluster rotate ${name} --step publish${c.publishedTo === undefined ? ' --to DIR|s3://BUCKET/PREFIX' : ''}\n`,
        )
        io.stdout.write(
          '      and copy keys/sa.pub to the control-plane nodes (the API server re-reads it on restart)\n',
        )
        break
      }
      case 'publish': {
        requirePublishStep(c)
        const to = values.to ?? c.publishedTo
        if (to === undefined)
          throw new UsageError(
            '--to DIR|s3://BUCKET/PREFIX is required (nothing was published before)',
          )
        c = await publishCluster(c, to, io, now)
        io.stdout.write(
          `next: podtrust cluster rotate ${name} --step switch (after relying parties' JWKS caches refresh)\n`,
        )
        break
      }
      case 'switch': {
        checkStep(c, 'switch')
        const nextFile = resolve(c.outDir, NEXT_KEY_PATH)
        const nextPem = await readFile(nextFile, 'utf8').catch((err: unknown) => {
          throw new SetupError('SETUP_NOT_FOUND', `the next private key ${nextFile} is missing`, {
            hint: 'switch runs where add-next wrote the key (the --out folder of cluster setup)',
            cause: err,
          })
        })
        c = switchSigningKey(c, now)
        await writeOutputFiles(c.outDir, [
          { path: SIGNING_KEY_PATH, content: nextPem, mode: 0o600 },
          ...renderClusterFiles(c, c.outDir),
        ])
        const { rm } = await import('node:fs/promises')
        await rm(resolve(c.outDir, NEXT_KEY_PATH), { force: true })
        io.stdout.write(
          `signing key switched; copy keys/sa.key and keys/sa.pub to the control-plane nodes and restart the API server\n`,
        )
        io.stdout.write(`${rotationStatus(c, now).slice(-1).join('\n')}\n`)
        break
      }
      case 'retire': {
        c = retirePreviousKey(c, now)
        await writeOutputFiles(c.outDir, renderClusterFiles(c, c.outDir))
        io.stdout.write(
          `previous key retired; publish again: podtrust issuer publish --cluster ${name} --to ${c.publishedTo ?? 'DIR|s3://…'}\n`,
        )
        break
      }
    }
    await saveSetupCluster(db, c, now)
    return 0
  } finally {
    await db.close()
  }
}
