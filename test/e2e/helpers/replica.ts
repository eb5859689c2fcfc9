/**
 * `podtrust up` replicas as real processes on ephemeral ports, for the store-outage and fault-injection
 * suites: spawn, wait for readiness, parse the endpoints, stop (SIGTERM) or kill (-9), and a raw awsQuery
 * client that can sign with SigV4 through the project's own signer.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'

const root = new URL('../../..', import.meta.url).pathname
export const podtrustBin = join(root, 'bin', 'podtrust.js')

export interface Replica {
  proc: ChildProcess
  baseUrl: string
  httpsBaseUrl: string | undefined
  output(): string
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string | null>
  stop(signal?: NodeJS.Signals): Promise<number | string | null>
}

export async function startReplica(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Replica> {
  const proc = spawn(process.execPath, [podtrustBin, 'up', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.env ?? {}) },
  })
  let out = ''
  let err = ''
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | string | null>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal)),
  )
  const deadline = Date.now() + (options.timeoutMs ?? 45_000)
  while (!/ready on (http:\/\/\S+)/.test(out) || !out.includes('\n\n')) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`podtrust up did not start:\n${out}\n${err}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const m = /ready on (http:\/\/\S+)(?: and (https:\/\/\S+))?/.exec(out)!
  return {
    proc,
    baseUrl: m[1]!,
    httpsBaseUrl: m[2],
    output: () => out + err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return exited
    },
  }
}

/** Runs the CLI to completion. */
export function podtrustCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [podtrustBin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

/** A unique schema name and application_name for one test run on the shared PostgreSQL server. */
export function uniquePostgresNames(prefix: string): { schema: string; applicationName: string } {
  const id = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
  return { schema: id, applicationName: `podtrust_${id}` }
}

/** The store URL for a replica: the schema and application_name as query parameters. */
export function replicaStoreUrl(
  base: string,
  names: { schema: string; applicationName: string },
): string {
  const url = new URL(base)
  url.searchParams.set('schema', names.schema)
  url.searchParams.set('application_name', names.applicationName)
  return url.toString()
}

/** Terminates every server backend podtrust opened under `applicationName`; returns how many. */
export async function terminateBackends(
  adminUrl: string,
  applicationName: string,
): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const r = await client.query(
      'SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    )
    return r.rowCount ?? 0
  } finally {
    await client.end()
  }
}

export async function dropSchema(adminUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await client.end()
  }
}

/** Parses `export NAME=value` lines of `up` / `admin-credentials --env` output. */
export function exportedEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const m of text.matchAll(/^export ([A-Z_0-9]+)=(\S*)$/gm)) env[m[1]!] = m[2]!
  return env
}
