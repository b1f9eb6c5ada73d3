/**
 * Entry of the local S3-compatible server process (s3rver), started by `tickstream local up`:
 *   node --import tsx ops/s3/s3-server-main.ts --address 127.0.0.1 --port 4568 --directory DIR --bucket NAME
 */
import { parseArgs } from "node:util";
import S3rver from "s3rver";

const { values } = parseArgs({
  options: {
    address: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "4568" },
    directory: { type: "string" },
    bucket: { type: "string", multiple: true, default: [] },
  },
});
if (!values.directory) {
  console.error("s3-server: --directory is required");
  process.exit(2);
}

const server = new S3rver({
  address: values.address,
  port: Number(values.port),
  directory: values.directory,
  silent: true,
  configureBuckets: values.bucket.map((name) => ({ name })),
});
const { address, port } = await server.run();
console.log(`s3-server: listening on http://${address}:${port}, data in ${values.directory}`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    console.log(`s3-server: ${signal}, closing`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
