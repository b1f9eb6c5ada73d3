export { freePort, freePorts } from "../../ops/local/free-port.ts";
