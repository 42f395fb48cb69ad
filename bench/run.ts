// `npm run bench`: every benchmark, one after the other, each printing its ratios.
import { benchAgent } from "./agent";
import { benchEngine } from "./engine";
import { benchPlan } from "./plan";

(async () => {
  await benchPlan();
  console.log("");
  await benchEngine();
  console.log("");
  await benchAgent();
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
