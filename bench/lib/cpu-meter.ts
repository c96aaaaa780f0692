import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of each process in a phase, from /proc (Linux; elsewhere the figures are null). On a 2-core machine
 * the load generator, the gateway and the store compete for cores, so requests per second alone mix the
 * gateway's cost with scheduling; CPU per request says where the time went, and the machine's other busy time
 * shows when something outside the bench (a concurrent test run) skewed a phase.
 */
export interface CpuUse {
  readonly wallMs: number;
  /** This process: autocannon in gateway phases, the raw driver in raw phases. */
  readonly benchMs: number;
  readonly gatewayMs: number | null;
  readonly storeMs: number | null;
  /** Busy CPU time of every other process on the machine, summed over cores. */
  readonly otherMs: number | null;
}

interface Snapshot {
  readonly at: number;
  readonly benchMs: number;
  readonly gatewayMs: number | null;
  readonly storeMs: number | null;
  readonly machineBusyMs: number | null;
}

const TICKS_PER_SECOND = clockTicks();

export class CpuMeter {
  constructor(
    private readonly gatewayPid: number,
    private readonly storePid: number | null,
  ) {}

  /** Runs `phase` and returns its result with the CPU time each process spent meanwhile. */
  async measure<T>(phase: () => Promise<T>): Promise<{ readonly result: T; readonly cpu: CpuUse }> {
    const before = this.snapshot();
    const result = await phase();
    const after = this.snapshot();
    const delta = (pick: (s: Snapshot) => number | null): number | null => {
      const a = pick(before);
      const b = pick(after);
      return a === null || b === null ? null : b - a;
    };
    const benchMs = after.benchMs - before.benchMs;
    const gatewayMs = delta((s) => s.gatewayMs);
    const storeMs = delta((s) => s.storeMs);
    const machineMs = delta((s) => s.machineBusyMs);
    const ours = benchMs + (gatewayMs ?? 0) + (storeMs ?? 0);
    return {
      result,
      cpu: { wallMs: after.at - before.at, benchMs, gatewayMs, storeMs, otherMs: machineMs === null ? null : Math.max(0, machineMs - ours) },
    };
  }

  private snapshot(): Snapshot {
    const usage = process.cpuUsage();
    return {
      at: performance.now(),
      benchMs: (usage.user + usage.system) / 1000,
      gatewayMs: processCpuMs(this.gatewayPid),
      storeMs: this.storePid === null ? null : processCpuMs(this.storePid),
      machineBusyMs: machineBusyMs(),
    };
  }
}

/** The embedded store's JVM: the one `java` child of this process (startEmbeddedStore does not expose its pid). */
export function findJavaChildPid(): number | null {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat && stat.comm === 'java' && stat.fields[1] === String(process.pid)) return Number(entry);
    }
  } catch {
    // No /proc: CPU figures are reported as null.
  }
  return null;
}

/** user + system CPU of a process from /proc, in ms (null off Linux or once it has exited). */
export function processCpuMs(pid: number): number | null {
  const stat = readStat(pid);
  if (!stat) return null;
  // Fields after "(comm)": state is [0], so utime (field 14 of the full line) is [11] and stime [12].
  return ((Number(stat.fields[11]) + Number(stat.fields[12])) * 1000) / TICKS_PER_SECOND;
}

function readStat(pid: number): { readonly comm: string; readonly fields: readonly string[] } | null {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses; it ends at the last ')'.
    const close = line.lastIndexOf(')');
    return { comm: line.slice(line.indexOf('(') + 1, close), fields: line.slice(close + 2).trim().split(' ') };
  } catch {
    return null;
  }
}

/** CPU time the whole machine spent busy (user + nice + system) since boot, in ms; null off Linux. */
export function machineBusyMs(): number | null {
  try {
    const [label, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    if (label !== 'cpu') return null;
    // Interrupt time is left out: loopback traffic of our own shows there, charged to no process.
    const [user, nice, system] = values.map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0)) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // USER_HZ on every mainstream Linux build
  }
}

export function sumCpu(uses: readonly CpuUse[]): CpuUse {
  const total = (pick: (use: CpuUse) => number | null): number | null =>
    uses.some((use) => pick(use) === null) ? null : uses.reduce((sum, use) => sum + pick(use)!, 0);
  return {
    wallMs: uses.reduce((sum, use) => sum + use.wallMs, 0),
    benchMs: uses.reduce((sum, use) => sum + use.benchMs, 0),
    gatewayMs: total((use) => use.gatewayMs),
    storeMs: total((use) => use.storeMs),
    otherMs: total((use) => use.otherMs),
  };
}
