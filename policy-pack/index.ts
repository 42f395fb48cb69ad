// `pulumi preview --policy-pack policy-pack` loads this pack.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("dx-backup-guardrails", { policies });
