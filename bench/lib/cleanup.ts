/**
 * Teardown for everything the bench starts. Steps run last-in first-out, once, whatever way the run ends:
 * normal end, thrown error, Ctrl-C or the watchdog. A step that fails or hangs must not keep the later ones
 * (the store, after the gateway) from running.
 */
export class Cleanup {
  private readonly steps: { readonly name: string; readonly run: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly stepTimeoutMs = 20_000) {} // 20 seconds: the gateway's drain plus margin

  add(name: string, run: () => Promise<void>): void {
    if (this.running) throw new Error(`Cleanup already started; "${name}" would never run. Register it before the run ends.`);
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<void> {
    for (const step of [...this.steps].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${this.stepTimeoutMs} ms`)), this.stepTimeoutMs);
      });
      try {
        await Promise.race([step.run(), timeout]);
      } catch (error) {
        process.stderr.write(`bench: cleanup step "${step.name}" failed: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
