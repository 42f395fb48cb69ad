// Builds the publishable form of the pack: dist/index.js, one file with the
// shared rules (components/guardrails and what they import) inside, so that
// `pulumi policy publish` (which packs this folder with `npm pack`) uploads a
// pack that loads on its own. @pulumi/policy and @pulumi/pulumi stay outside:
// they are the pack's dependencies, installed where the pack runs.
// No `prepack` script: npm prints its banner on stdout, and Pulumi reads the
// tarball's name from that stdout. `npm run publish:policy-pack` builds first
// (this script runs from the repository: esbuild and tsx are its dev dependencies).
import { buildSync } from "esbuild";
import * as path from "node:path";

const here = __dirname;
const result = buildSync({
  entryPoints: [path.join(here, "index.ts")],
  outfile: path.join(here, "dist", "index.js"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["@pulumi/policy", "@pulumi/pulumi"],
  logLevel: "warning",
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`policy-pack: dist/index.js built from ${inputs} modules`);
