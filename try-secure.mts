import { startMoto } from "./test/helpers/moto.ts";
import { provisionStackSecurity } from "./test/helpers/stack-security.ts";
import { prepareBootstrappedBroker } from "./test/helpers/bootstrapped-broker.ts";
import { Kafka, logLevel } from "kafkajs";
const moto = await startMoto();
const sec = await provisionStackSecurity(moto, "try", [{ nodeId: 1, publicIp: "127.0.9.2", privateIp: "127.0.9.3" }]);
const broker = await prepareBootstrappedBroker({ publicIp: "127.0.9.2", privateIp: "127.0.9.3", security: sec.bootstrap(1) });
const r = await broker.run();
console.log(r.exitCode, r.all.slice(-3000));
if (r.exitCode === 0) {
  const k = new Kafka({ clientId: "x", brokers: [`127.0.9.2:${broker.externalPort}`], logLevel: logLevel.NOTHING, ssl: { ca: [sec.caPem] }, sasl: { mechanism: "scram-sha-512", username: "producer", password: sec.passwords.producer } });
  const p = k.producer(); await p.connect();
  console.log(await p.send({ topic: "stock-ticks", messages: [{ key: "a", value: "b" }] }));
  await p.disconnect();
  const r2 = await broker.run(); console.log("second", r2.exitCode, r2.all.slice(-800));
}
await broker.destroy(); await moto.stop();
