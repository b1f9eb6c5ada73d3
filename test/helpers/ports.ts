export { freePort } from "../../ops/local/free-port.ts";
