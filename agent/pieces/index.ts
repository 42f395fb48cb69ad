import { isoSeconds } from "../log";
import type { PieceRecord } from "../../shared/records";
import { captureDatabase } from "./database";
import { checkStagingSpace, stagedBytes } from "./space";
import { captureLdap, captureRemoteSource, captureWasConfig, captureXmlaccess } from "./others";
import type { PieceOutcome, PieceRun } from "./types";

export type { PieceRun, PieceOutcome };

/** XMLAccess talks to the running Portal: it runs before an offline run stops the servers. */
export function piecePhase(name: string): "before-stop" | "main" {
  return name.startsWith("xmlaccess-") ? "before-stop" : "main";
}

/** Captures one piece; a failure is a StepError naming `piece:<name>`. */
export async function capturePiece(p: PieceRun): Promise<{ record: PieceRecord; outcome: PieceOutcome }> {
  const staged = stagesImage(p);
  if (staged) checkStagingSpace(p);
  const outcome = await captureBy(p);
  const record: PieceRecord = {
    piece: p.name,
    kind: p.piece.kind,
    completed: isoSeconds(new Date()),
    ...outcome.record,
    // What the next run's space check compares with.
    ...(staged ? { stagedBytes: String(stagedBytes(p.staging)) } : {}),
  };
  return { record, outcome };
}

/** A database image staged under the state directory (PostgreSQL is streamed, never staged). */
function stagesImage(p: PieceRun): boolean {
  return p.piece.kind === "database" && p.piece.database.engine !== "postgresql";
}

function captureBy(p: PieceRun): Promise<PieceOutcome> {
  switch (p.piece.kind) {
    case "database":
      return captureDatabase(p);
    case "ldap":
      return captureLdap(p);
    case "remoteSource":
      return captureRemoteSource(p);
    case "wasConfig":
      return captureWasConfig(p);
    case "xmlaccess":
      return captureXmlaccess(p);
  }
}
