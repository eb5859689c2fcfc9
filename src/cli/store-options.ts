/**
 * @module cli/store-options
 * The options every store-touching command shares: `--data-dir DIR` (default $PODTRUST_HOME or ./.podtrust)
 * and `--store URL` (default $PODTRUST_STORE; postgres://… selects PostgreSQL).
 */
import { resolve } from 'node:path'
import { UsageError } from '../errors.ts'
import type { Db } from '../store/db.ts'
import { openDb } from '../server/store.ts'
import type { CliIo } from './command.ts'

export const storeArgOptions = {
  'data-dir': { type: 'string' },
  store: { type: 'string' },
} as const

export const storeUsage = `  --data-dir DIR     podtrust data directory (default $PODTRUST_HOME or ./.podtrust)
  --store URL        postgres://… for PostgreSQL (default $PODTRUST_STORE, else the SQLite file in DIR)`

/** Kernel pseudo-filesystems: a data directory there cannot work (and a recursive mkdir there may spin). */
const PSEUDO_FILESYSTEMS = ['/proc', '/sys', '/dev']

export function dataDirOf(value: string | undefined, io: CliIo): string {
  const dir = resolve(io.cwd, value ?? io.env['PODTRUST_HOME'] ?? '.podtrust')
  const pseudo = PSEUDO_FILESYSTEMS.find((p) => dir === p || dir.startsWith(`${p}/`))
  if (pseudo !== undefined) {
    throw new UsageError(
      `the data directory ${dir} is under ${pseudo}, a kernel pseudo-filesystem that cannot hold files`,
      'pick a directory on a real filesystem with --data-dir or $PODTRUST_HOME (in a container: an emptyDir or volume mount)',
    )
  }
  return dir
}

export function storeUrlOf(value: string | undefined, io: CliIo): string | undefined {
  const v = value ?? io.env['PODTRUST_STORE']
  return v === undefined || v === '' ? undefined : v
}

export async function openStore(
  values: { 'data-dir'?: string; store?: string },
  io: CliIo,
): Promise<Db> {
  const url = storeUrlOf(values.store, io)
  return openDb({
    dataDir: dataDirOf(values['data-dir'], io),
    ...(url === undefined ? {} : { url }),
  })
}

/** A whole number in [min, max] from a flag value, or a UsageError naming the flag. */
export function intFlag(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${value}'`)
  }
  return Number(value)
}

/** A 12-digit AWS account id flag. */
export function accountFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^\d{12}$/.test(value))
    throw new UsageError(`--account-id must be 12 digits, got '${value}'`)
  return value
}

/** An AWS region flag (`us-east-1` style). */
export function regionFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value))
    throw new UsageError(`--region must look like us-east-1, got '${value}'`)
  return value
}
