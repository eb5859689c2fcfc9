/**
 * @module generate/migrate/load
 * Reads the planner's inputs from disk: Kubernetes objects from YAML or JSON files (multi-document, `List`
 * objects, `kubectl get -o json` output; directories are walked for *.yaml, *.yml, *.json) and the JSON
 * output of `aws iam get-account-authorization-details`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { GenerateError } from '../errors.ts'
import {
  inventoryFromObjects,
  rolesFromAuthorizationDetails,
  type ClusterInventory,
  type IamInventory,
} from './inputs.ts'

const MAX_INPUT_BYTES = 64 * 1024 * 1024

function files(path: string): string[] {
  let stat
  try {
    stat = statSync(path)
  } catch (err) {
    throw new GenerateError(
      'MIGRATE_INPUT',
      `cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    )
  }
  if (!stat.isDirectory()) return [path]
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) =>
      e.isDirectory()
        ? files(join(path, e.name))
        : /\.(ya?ml|json)$/i.test(e.name)
          ? [join(path, e.name)]
          : [],
    )
}

function readText(file: string): string {
  if (statSync(file).size > MAX_INPUT_BYTES)
    throw new GenerateError('MIGRATE_INPUT', `'${file}' is larger than 64 MiB`)
  return readFileSync(file, 'utf8')
}

/** Every object of every file under `paths`, in file order. */
export function readKubernetesObjects(paths: readonly string[]): unknown[] {
  const out: unknown[] = []
  for (const file of paths.flatMap(files)) {
    // Duplicate keys happen in real manifests (last wins, as kubectl does).
    for (const doc of parseAllDocuments(readText(file), { uniqueKeys: false })) {
      if (doc.errors.length > 0)
        throw new GenerateError(
          'MIGRATE_INPUT',
          `${file}: not valid YAML: ${doc.errors[0]!.message}`,
        )
      const value: unknown = doc.toJS({ maxAliasCount: 100 })
      if (value !== null && value !== undefined) out.push(value)
    }
  }
  return out
}

export function loadCluster(paths: readonly string[]): ClusterInventory {
  return inventoryFromObjects(readKubernetesObjects(paths))
}

export function loadGaad(file: string | undefined): IamInventory {
  if (file === undefined) return { roles: [] }
  let value: unknown
  try {
    value = JSON.parse(readText(file))
  } catch (err) {
    if (err instanceof GenerateError) throw err
    throw new GenerateError(
      'MIGRATE_INPUT',
      `${file}: not the JSON of \`aws iam get-account-authorization-details\`: ${(err as Error).message}`,
    )
  }
  return rolesFromAuthorizationDetails(value)
}
