#!/usr/bin/env node
// The `dxbackup` command. The project is TypeScript run as it is (like the
// Pulumi program itself), so register tsx's loader and hand over to the CLI.
"use strict";
require("tsx/cjs");
require("../cli/main.ts");
