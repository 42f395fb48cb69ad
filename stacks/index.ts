// The Pulumi program (Pulumi.yaml `main`). Everything lives in program.ts so
// that `dxbackup plan` and the tests evaluate the very same code.
import { buildStack } from "./program";

export = buildStack();
