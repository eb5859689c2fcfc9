/**
 * @module cli/commands/test
 * `podtrust test FILE`: policy-as-code scenarios (src/analysis/policy-tests.ts) against the live store
 * (`--data-dir`/`--store`), a podtrust config file (`--config`, applied to a throw-away store), or scan inputs
 * (`--gaad` with `--k8s`/`--oidc-providers`/`--pod-identity-associations`). TAP on stdout; JUnit XML with
 * `--junit FILE`. Exit 1 when a scenario fails.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { DoctorRole } from '../../analysis/doctor.ts'
import { buildContext } from '../../analysis/context.ts'
import {
  parseScenarios,
  renderJunit,
  renderTap,
  runScenarios,
  type TestModel,
} from '../../analysis/policy-tests.ts'
import { applyConfig } from '../../server/config.ts'
import { UsageError } from '../../errors.ts'
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from '../../server/start.ts'
import { openDb } from '../../server/store.ts'
import type { Db } from '../../store/db.ts'
import type { CliIo, Command } from '../command.ts'
import { openStore } from '../store-options.ts'
import { loadStoreSnapshot, storeAccount } from '../store-snapshot.ts'
import { loadScanInputs, splitArgs } from './scan.ts'

const usage = `Usage:
  podtrust test FILE [--data-dir DIR | --store URL | --config CONFIG.yaml | --gaad FILE [--k8s PATH...]
                      [--oidc-providers FILE] [--pod-identity-associations FILE]] [--account-id A] [--junit OUT.xml]

Checks YAML scenarios with the policy engine and prints TAP:
  scenarios:
    - workload: payments/api          # namespace/serviceaccount
      can: s3:GetObject
      on: arn:aws:s3:::invoices/*
    - workload: payments/api
      cannot: "iam:*"
    - role: arn:aws:iam::111122223333:role/deployer
      only-namespaces: [ci]
    - role: arn:aws:iam::111122223333:role/app
      assumable-by: [payments/api]

Inputs: the live store (default ./.podtrust or $PODTRUST_HOME), a config file applied to a throw-away store, or
scan inputs (see podtrust scan --help).
  --junit FILE   also write JUnit XML
Exit codes: 0 every scenario holds, 1 a scenario fails, 2 bad arguments or scenario file.
`

function storeModel(snap: Awaited<ReturnType<typeof loadStoreSnapshot>>, now: Date): TestModel {
  const subjects = new Set<string>()
  for (const r of snap.roles.values())
    for (const st of r.role.trust.compiled?.model.statements ?? [])
      for (const c of st.conditions)
        if (/:sub$/i.test(c.key))
          for (const v of c.values) {
            const m = /^system:serviceaccount:([^:*?]+):([^:*?]+)$/.exec(v)
            if (m !== null) subjects.add(`${m[1]}/${m[2]}`)
          }
  for (const a of snap.associations) subjects.add(`${a.namespace}/${a.serviceAccount}`)
  return {
    now,
    roles: snap.roles,
    providers: snap.providers,
    associations: snap.associations,
    serviceAccounts: [...subjects],
  }
}

async function fromStore(db: Db, account: string | undefined, now: Date): Promise<TestModel> {
  const accountId = await storeAccount(db, account)
  return storeModel(await loadStoreSnapshot(db, accountId, {}), now)
}

export const testCommand: Command = {
  name: 'test',
  summary:
    'Check policy-as-code scenarios (who can do what) with the policy engine; TAP/JUnit output',
  usage,
  async run(argv, io: CliIo) {
    const [file, ...rest] = argv
    if (file === undefined || file.startsWith('--'))
      throw new UsageError('give the scenario FILE first')
    // Split store flags from scan-input flags.
    const storeFlags: Record<string, string> = {}
    const scanArgs: string[] = []
    let junit: string | undefined
    let config: string | undefined
    let account: string | undefined
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!
      const value = () => {
        const v = rest[++i]
        if (v === undefined) throw new UsageError(`${a} needs a value`)
        return v
      }
      if (a === '--data-dir') storeFlags['data-dir'] = value()
      else if (a === '--store') storeFlags['store'] = value()
      else if (a === '--junit') junit = value()
      else if (a === '--config') config = value()
      else if (a === '--account-id') account = value()
      else scanArgs.push(a)
    }
    let text: string
    try {
      text = readFileSync(resolve(io.cwd, file), 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read '${file}' (${(err as { code?: string }).code ?? 'error'})`)
    }
    let scenarios
    try {
      scenarios = parseScenarios(text)
    } catch (err) {
      throw new UsageError((err as Error).message, 'see podtrust test --help')
    }
    const now = new Date()
    let model: TestModel
    if (scanArgs.length > 0) {
      const { flags } = splitArgs(scanArgs)
      const inputs = loadScanInputs(io, flags)
      const ctx = buildContext(inputs, { now })
      const roles = new Map<string, DoctorRole>()
      for (const role of inputs.iam.roles.values()) {
        const p = ctx.policiesOf(role)
        roles.set(role.arn, {
          role,
          identity: p.identity,
          ...(p.boundary !== undefined ? { boundary: p.boundary } : {}),
        })
      }
      model = {
        now,
        roles,
        providers: ctx.providers.map((p) => ({
          arn: p.arn,
          url: p.url,
          clientIds: p.clientIds ?? ['sts.amazonaws.com'],
          thumbprints: [],
        })),
        associations: inputs.side.associations ?? [],
        serviceAccounts: [...inputs.kube.serviceAccounts.keys()],
      }
    } else if (config !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-test-'))
      const db = await openDb({ dataDir: dir })
      try {
        const yaml = readFileSync(resolve(io.cwd, config), 'utf8')
        await applyConfig(db, yaml, {
          accountId: account ?? DEFAULT_ACCOUNT_ID,
          region: DEFAULT_REGION,
          now,
        })
        model = await fromStore(db, account ?? DEFAULT_ACCOUNT_ID, now)
      } finally {
        await db.close()
        rmSync(dir, { recursive: true, force: true })
      }
    } else {
      const db = await openStore(storeFlags, io)
      try {
        model = await fromStore(db, account, now)
      } finally {
        await db.close()
      }
    }
    const results = runScenarios(scenarios, model)
    io.stdout.write(renderTap(results))
    if (junit !== undefined) writeFileSync(resolve(io.cwd, junit), renderJunit(results))
    return results.every((r) => r.ok) ? 0 : 1
  },
}
