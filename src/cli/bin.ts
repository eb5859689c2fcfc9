#!/usr/bin/env node
// The installed `podtrust` executable (package.json `bin`: dist/cli/bin.js). In a checkout, bin/podtrust.js
// runs the same entry from the TypeScript sources.
import { main } from './main.ts'

process.exitCode = await main(process.argv.slice(2))
