/**
 * @module cli/commands/certs
 * `podtrust certs`: creates podtrust's CA when missing and prints the path of its certificate (PEM), the
 * file clients trust for the TLS listener (AWS_CA_BUNDLE, --ca-bundle, NODE_EXTRA_CA_CERTS).
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { caDir, loadOrCreateCa } from '../../certs/ca.ts'
import type { Command } from '../command.ts'
import { dataDirOf } from '../store-options.ts'

const usage = `Usage:
  podtrust certs [--data-dir DIR]

Prints the path of podtrust's CA certificate (created on first use), which clients trust for the
TLS listener (--https-port): AWS_CA_BUNDLE=$(podtrust certs).

Options:
  --data-dir DIR     podtrust data directory (default $PODTRUST_HOME or ./.podtrust)
`

export const certsCommand: Command = {
  name: 'certs',
  summary: "Create podtrust's CA if needed and print its certificate's path",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { 'data-dir': { type: 'string' } },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const ca = await loadOrCreateCa(caDir(dataDirOf(values['data-dir'], io)))
    io.stdout.write(`${ca.certFile}\n`)
    return 0
  },
}
