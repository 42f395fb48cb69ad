import { z } from "zod";

// Imported first by agent/main.ts: zod reads this when each object schema is built, so it must run
// before any schema module. Each schema parses once or twice per agent process, and zod's JIT (a
// parser generated with `new Function` per object schema) costs more to compile than it saves.
z.config({ jitless: true });
