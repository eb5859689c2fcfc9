#!/usr/bin/env node
// The checkout's launcher: runs the CLI from the TypeScript sources through tsx (a devDependency), so tests
// and `node bin/podtrust.js …` always see the current src/. The published package's `bin` is dist/cli/bin.js,
// compiled by `npm run build` (which `npm start` and `npm pack` run first).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
