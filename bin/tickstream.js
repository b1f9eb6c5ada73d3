#!/usr/bin/env node
// The `tickstream` binary: registers tsx so the TypeScript sources run as they are, then runs the CLI.
import { register } from "tsx/esm/api";

// The lockfile pins an AWS SDK that supports Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
const { run } = await import("../ops/cli/main.ts");
process.exitCode = await run(process.argv);
