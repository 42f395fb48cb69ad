/** A step of a run, restore or drill failed: the message names what failed and why. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = "StepError";
  }
}

/** The operator asked for something this host cannot do (exit 64), nothing was changed by the request itself. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const EXIT = { ok: 0, failed: 1, refused: 2, partial: 3, usage: 64, locked: 75 } as const;
