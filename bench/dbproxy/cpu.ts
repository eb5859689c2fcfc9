/**
 * CPU accounting for the database proxy bench, from Linux's /proc (proc(5)): where the CPU of one
 * transaction goes on a machine where pgbench, PostgreSQL and the proxy share the cores. Throughput alone
 * cannot say whether the proxy is slow or the machine is full; CPU per transaction of each party, and the
 * machine's idle share during a run, can.
 * - pgbench: the bench process's reaped children (cutime + cstime of /proc/self/stat).
 * - PostgreSQL: the postmaster, its reaped children (backends that exited) and its live children.
 * - the machine: the idle + iowait share of /proc/stat's `cpu` line.
 * Every figure is undefined where /proc is not there (the bench then prints only throughput).
 */
import { readdirSync, readFileSync } from 'node:fs'

/** USER_HZ: /proc reports times in these ticks; 100 on every mainstream Linux. */
const TICK_US = 10_000

/** Fields 3.. of /proc/PID/stat (the command name, in parentheses, may hold spaces: split after it). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

// Indices into statFields (field n of proc(5) is index n - 3).
const PPID = 1
const UTIME = 11
const STIME = 12
const CUTIME = 13
const CSTIME = 14

/** CPU µs of the process itself, plus those of its reaped children when `reaped`. */
function cpuUs(fields: string[], reaped: boolean): number {
  const n = (i: number): number => Number(fields[i] ?? 0)
  return (n(UTIME) + n(STIME) + (reaped ? n(CUTIME) + n(CSTIME) : 0)) * TICK_US
}

/** CPU µs used so far by this process's reaped children (pgbench runs, once each has exited). */
export function reapedChildrenCpuUs(): number | undefined {
  const f = statFields('self')
  if (f === undefined) return undefined
  return (Number(f[CUTIME] ?? 0) + Number(f[CSTIME] ?? 0)) * TICK_US
}

/** The parent of `pid` (for a PostgreSQL backend: the postmaster). */
export function parentOf(pid: number): number | undefined {
  const f = statFields(pid)
  return f === undefined ? undefined : Number(f[PPID])
}

/** CPU µs of a process tree one level deep: `pid`, its reaped children and its live children. */
export function treeCpuUs(pid: number): number | undefined {
  const own = statFields(pid)
  if (own === undefined) return undefined
  let total = cpuUs(own, true)
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const f = statFields(Number(name))
    if (f !== undefined && Number(f[PPID]) === pid) total += cpuUs(f, false)
  }
  return total
}

/** Busy and total jiffies of the whole machine so far (/proc/stat's first line). */
export function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const total = v.reduce((a, b) => a + b, 0)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}
