import { createServer } from "node:net";
import { expect } from "chai";
import { freePorts } from "../../../ops/local/free-port.ts";

describe("free ports for throw-away services", function () {
  it("gives distinct ports, each of which a server can then listen on (500 at once: ports released one by one repeat)", async function () {
    const ports = await freePorts(500);
    expect(new Set(ports).size, ports.join(", ")).to.equal(500);
    for (const port of ports.slice(0, 20)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
