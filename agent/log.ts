/**
 * Interactive runs get plain words on stderr; runs under a timer get one JSON
 * object per line (journald, the cron log), so that a failure is found by its
 * `event` and `step`.
 */
export type Level = "info" | "warn" | "error";

export class Logger {
  runId = "";
  constructor(
    readonly host: string,
    readonly interactive: boolean = process.stderr.isTTY === true,
  ) {}

  log(level: Level, event: string, message: string, fields: Record<string, string> = {}): void {
    if (this.interactive) {
      process.stderr.write(`${message}\n`);
      return;
    }
    const line = { time: isoSeconds(new Date()), level, event, host: this.host, runId: this.runId, message, ...fields };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  info(event: string, message: string, fields?: Record<string, string>) {
    this.log("info", event, message, fields);
  }
  warn(event: string, message: string, fields?: Record<string, string>) {
    this.log("warn", event, message, fields);
  }
  error(event: string, message: string, fields?: Record<string, string>) {
    this.log("error", event, message, fields);
  }
  /** A progress line that rewrites itself in a terminal; nothing under a timer. */
  progress(text: string): void {
    if (this.interactive) process.stderr.write(`\r${text.padEnd(70)}`);
  }
  endProgress(): void {
    if (this.interactive) process.stderr.write(`\r${" ".repeat(70)}\r`);
  }
}

/** 2026-11-28T02:00:00Z: whole seconds, as the records have always had them. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function humanBytes(b: number): string {
  const units: Array<[number, string]> = [
    [1 << 30, "GiB"],
    [1 << 20, "MiB"],
  ];
  for (const [size, unit] of units) if (b >= size) return `${(Math.floor((b / size) * 100) / 100).toFixed(2)} ${unit}`;
  return b >= 1024 ? `${Math.floor(b / 1024)} KiB` : `${b} B`;
}
