// The pack's entry: `npm run build:policy-pack` bundles it into dist/index.js, the file
// `pulumi preview --policy-pack policy-pack` and the published pack load.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("dx-backup-guardrails", { policies });
