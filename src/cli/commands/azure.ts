/**
 * @module cli/commands/azure
 * `podtrust azure list|env|fic add|fic remove`: inspect the Entra-compatible directory, print the env vars
 * the azure-workload-identity webhook injects (pointing at podtrust), and manage federated identity
 * credentials offline against the data directory. Tenants and identities are declared in the config file.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { deriveObjectId, isValidTenantId } from '../../azure/config.ts'
import {
  DEFAULT_FIC_AUDIENCE,
  validateFederatedCredential,
  validateFederatedCredentialSet,
  type FederatedCredential,
} from '../../azure/fic.ts'
import {
  getIdentity,
  getTenant,
  listFederatedCredentials,
  listIdentities,
  listTenants,
  putIdentity,
  putTenant,
  replaceFederatedCredentials,
} from '../../azure/repo.ts'
import { CA_CERT_FILE, caDir } from '../../certs/ca.ts'
import { PodtrustError, UsageError } from '../../errors.ts'
import type { Command } from '../command.ts'
import { dataDirOf, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust azure list [--data-dir DIR] [--store URL]
  podtrust azure env --tenant T --client-id C [--token-file F] [--authority-host URL] [--data-dir DIR]
  podtrust azure identity add --tenant T --client-id C --name N [--type userAssignedIdentity|application]
                              [--data-dir DIR] [--store URL]
  podtrust azure fic add --tenant T --client-id C --name N --issuer URL (--subject S | --expression E)
                         [--audience A] [--description D] [--data-dir DIR] [--store URL]
  podtrust azure fic remove --tenant T --client-id C --name N [--data-dir DIR] [--store URL]

Entra-compatible workload identity. Declare tenants and identities in the config file (docs/config.md,
section "azure") or with 'identity add' (creates the tenant when missing); 'fic add' then adds federated identity credentials (at most 20 per identity; issuer,
subject and audience match exactly). 'env' prints the variables a pod needs, pointing at podtrust's TLS
listener and trusting podtrust's CA.

Options:
  --tenant T           tenant id (GUID or domain)
  --client-id C        the identity's client id (GUID)
  --name N             identity name, or federated identity credential name (3-120 of letters, digits, - and _)
  --type T             identity type: userAssignedIdentity (default) or application
  --issuer URL         the token issuer, exactly as in the token's "iss" (no trailing slash added)
  --subject S          the token's "sub", e.g. system:serviceaccount:NS:SA
  --expression E       instead of --subject: claims['sub'] matches 'system:serviceaccount:team-*:*'
  --audience A         default api://AzureADTokenExchange
  --token-file F       default /var/run/secrets/azure/wi/token/azure-identity-token
  --authority-host URL default https://127.0.0.1:7443/
${storeUsage}
`

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      tenant: { type: 'string' },
      'client-id': { type: 'string' },
      name: { type: 'string' },
      issuer: { type: 'string' },
      subject: { type: 'string' },
      expression: { type: 'string' },
      audience: { type: 'string' },
      description: { type: 'string' },
      type: { type: 'string' },
      'token-file': { type: 'string' },
      'authority-host': { type: 'string' },
      ...storeArgOptions,
    },
  })
}

type Values = ReturnType<typeof parse>['values']

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

class AzureCliError extends PodtrustError<'AZURE_NOT_FOUND' | 'AZURE_INVALID'> {}

function need(values: Values, name: 'tenant' | 'client-id' | 'name' | 'issuer'): string {
  const value = values[name]
  if (value === undefined || value === '') throw new UsageError(`missing --${name}`)
  return value
}

export const azureCommand: Command = {
  name: 'azure',
  summary: 'Entra-compatible workload identity: list, env, federated credentials',
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(argv)
    const [sub, action, ...rest] = positionals
    const command = sub === 'fic' || sub === 'identity' ? `${sub} ${action ?? ''}` : sub
    const extra = sub === 'fic' || sub === 'identity' ? rest : positionals.slice(1)
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`)
    if (command === 'env') {
      const tenant = need(values, 'tenant')
      const clientId = need(values, 'client-id')
      if (!isValidTenantId(tenant)) throw new UsageError(`--tenant '${tenant}' is not a tenant id`)
      const host = values['authority-host'] ?? 'https://127.0.0.1:7443/'
      if (!/^https:\/\//.test(host)) {
        throw new UsageError(
          `--authority-host '${host}' must be https`,
          '@azure/identity refuses http authority hosts',
        )
      }
      const lines = [
        `AZURE_CLIENT_ID=${clientId}`,
        `AZURE_TENANT_ID=${tenant}`,
        `AZURE_FEDERATED_TOKEN_FILE=${values['token-file'] ?? '/var/run/secrets/azure/wi/token/azure-identity-token'}`,
        `AZURE_AUTHORITY_HOST=${host.endsWith('/') ? host : `${host}/`}`,
        `NODE_EXTRA_CA_CERTS=${join(caDir(dataDirOf(values['data-dir'], io)), CA_CERT_FILE)}`,
        `REQUESTS_CA_BUNDLE=${join(caDir(dataDirOf(values['data-dir'], io)), CA_CERT_FILE)}`,
      ]
      io.stdout.write(`${lines.join('\n')}\n`)
      return 0
    }
    if (
      command !== 'list' &&
      command !== 'fic add' &&
      command !== 'fic remove' &&
      command !== 'identity add'
    ) {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${command ?? ''}'`,
        "use 'azure list', 'azure env', 'azure identity add', 'azure fic add' or 'azure fic remove'",
      )
    }
    if (
      command === 'fic add' &&
      (values.subject === undefined) === (values.expression === undefined)
    ) {
      throw new UsageError('give exactly one of --subject and --expression')
    }
    if (command === 'identity add') {
      if (!isValidTenantId(need(values, 'tenant')))
        throw new UsageError(`--tenant '${values.tenant ?? ''}' is not a tenant id`)
      if (!GUID.test(need(values, 'client-id')))
        throw new UsageError(`--client-id '${values['client-id'] ?? ''}' is not a GUID`)
      need(values, 'name')
      if (
        values.type !== undefined &&
        values.type !== 'userAssignedIdentity' &&
        values.type !== 'application'
      ) {
        throw new UsageError("--type must be 'userAssignedIdentity' or 'application'")
      }
    }
    const db = await openStore(values, io)
    try {
      if (command === 'list') {
        for (const tenant of await listTenants(db)) {
          for (const identity of await listIdentities(db, tenant.tenantId)) {
            const fics = await listFederatedCredentials(db, tenant.tenantId, identity.clientId)
            io.stdout.write(
              `${tenant.tenantId}\t${identity.name}\t${identity.clientId}\t${identity.kind}\t${fics.length} federated credential(s)\n`,
            )
            for (const f of fics) {
              io.stdout.write(
                `  ${f.name}\t${f.issuer}\t${f.subject ?? f.claimsMatchingExpression ?? ''}\t${f.audiences[0] ?? ''}\n`,
              )
            }
          }
        }
        return 0
      }
      const tenant = need(values, 'tenant')
      const clientId = need(values, 'client-id').toLowerCase()
      const name = need(values, 'name')
      if (command === 'identity add') {
        const now = new Date()
        if ((await getTenant(db, tenant)) === undefined)
          await putTenant(db, { tenantId: tenant, displayName: undefined }, now)
        const existing = await getIdentity(db, tenant, clientId)
        await putIdentity(
          db,
          {
            tenantId: tenant,
            clientId,
            objectId: existing?.objectId ?? deriveObjectId(tenant.toLowerCase(), clientId),
            name,
            kind: values.type === 'application' ? 'application' : 'userAssignedIdentity',
          },
          now,
        )
        io.stdout.write(
          `${existing === undefined ? 'added' : 'updated'} ${name} (${clientId}) in ${tenant.toLowerCase()}\n`,
        )
        return 0
      }
      if ((await getTenant(db, tenant)) === undefined) {
        throw new AzureCliError('AZURE_NOT_FOUND', `tenant '${tenant}' is not declared`, {
          hint: 'declare it under azure.tenants in the config file and run podtrust apply',
        })
      }
      if ((await getIdentity(db, tenant, clientId)) === undefined) {
        throw new AzureCliError(
          'AZURE_NOT_FOUND',
          `no identity with client id '${clientId}' in tenant '${tenant}'`,
          {
            hint: 'declare it under azure.tenants[].identities in the config file',
          },
        )
      }
      const existing = await listFederatedCredentials(db, tenant, clientId)
      if (command === 'fic remove') {
        const kept = existing.filter((f) => f.name.toLowerCase() !== name.toLowerCase())
        if (kept.length === existing.length) {
          throw new AzureCliError('AZURE_NOT_FOUND', `no federated identity credential '${name}'`)
        }
        await replaceFederatedCredentials(db, tenant, clientId, kept, new Date())
        io.stdout.write(`removed ${name}\n`)
        return 0
      }
      const fic: FederatedCredential = {
        name,
        issuer: need(values, 'issuer'),
        audiences: [values.audience ?? DEFAULT_FIC_AUDIENCE],
        ...(values.subject === undefined ? {} : { subject: values.subject }),
        ...(values.expression === undefined ? {} : { claimsMatchingExpression: values.expression }),
        ...(values.description === undefined ? {} : { description: values.description }),
      }
      const problems = [
        ...validateFederatedCredential(fic),
        ...validateFederatedCredentialSet([...existing, fic]),
      ]
      if (problems.length > 0) {
        throw new AzureCliError('AZURE_INVALID', problems.join('; '), { hint: 'see docs/azure.md' })
      }
      await replaceFederatedCredentials(db, tenant, clientId, [...existing, fic], new Date())
      io.stdout.write(`added ${name}\n`)
      return 0
    } finally {
      await db.close()
    }
  },
}
