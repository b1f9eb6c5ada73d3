/** `tickstream broker start|stop|restart|status|logs`: the Kafka broker alone. */
import type { Command } from "commander";
import { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatPairs, type Output } from "../output.ts";

export function registerBrokerCommands(program: Command): void {
  const broker = program.command("broker").description("manage the Kafka broker");
  const environment = (output: Output) => LocalEnvironment.fromEnvironment((message) => output.progress(message));

  withCommonOptions(broker.command("start").description("start the broker and wait until it answers")).action(
    commandAction(async (output: Output) => {
      const result = await environment(output).broker.start();
      output.result(
        { ...result, alreadyRunning: !result.started },
        result.started ? `broker started (pid ${result.pid})` : `broker is already running (pid ${result.pid}); nothing started`,
      );
    }),
  );
  withCommonOptions(broker.command("stop").description("stop the broker (SIGTERM, then SIGKILL after 30 s)")).action(
    commandAction(async (output: Output) => {
      const result = await environment(output).broker.stop();
      output.result(result, result.stopped ? `broker stopped${result.killed ? " (killed after the grace period)" : ""}` : "broker was not running");
    }),
  );
  withCommonOptions(broker.command("restart").description("stop, then start the broker")).action(
    commandAction(async (output: Output) => {
      const result = await environment(output).broker.restart();
      output.result(result, `broker restarted (pid ${result.pid})`);
    }),
  );
  withCommonOptions(broker.command("status").description("is the broker running and answering")).action(
    commandAction(async (output: Output) => {
      const status = await environment(output).broker.status();
      const answering = status.cluster ? `yes (cluster ${status.cluster.clusterId}, controller ${status.cluster.controller})` : "no";
      output.result(
        status,
        formatPairs([
          ["running", status.running ? `yes (pid ${status.pid}, up ${status.uptimeSeconds ?? "?"} s)` : "no"],
          ["answering", answering],
          ["bootstrap", status.bootstrapServers],
        ]),
      );
      return status.running ? 0 : 3;
    }),
  );
  withCommonOptions(
    broker.command("logs").description("print the end of the broker's log").option("-n, --lines <n>", "how many lines", positiveInteger, 50),
  ).action(
    commandAction(async (output: Output, options: { lines: number }) => {
      const text = await environment(output).broker.logs(options.lines);
      output.result({ lines: text.split("\n") }, text);
    }),
  );
}
