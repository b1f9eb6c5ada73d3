import { expect } from "chai";
import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
} from "@aws-sdk/client-athena";
import { QueryFailedError, runAthenaQuery } from "../../../apps/query/athena-engine.ts";
import { athenaCostUsd } from "../../../apps/query/query-result.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";

/** moto's queue of results for the next Athena queries (it runs no SQL itself). */
async function queueResults(moto: MotoServer, columns: [string, string][], rows: string[][]) {
  const column_info = columns.map(([Name, Type]) => ({ Name, Label: Name, Type, Nullable: "NULLABLE" }));
  const header = { Data: columns.map(([name]) => ({ VarCharValue: name })) };
  const data = rows.map((row) => ({
    Data: row.map((value) => (value === "\u0000" ? {} : { VarCharValue: value })),
  }));
  const response = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
    method: "POST",
    body: JSON.stringify({ region: "us-east-1", results: [{ rows: [header, ...data], column_info }] }),
  });
  expect(response.status).to.equal(201);
}

describe("Athena queries against a local AWS API emulator (moto) @integration", function () {
  let moto: MotoServer;
  let athena: AthenaClient;

  before(async () => {
    moto = await startMoto();
    athena = new AthenaClient(moto.clientConfig);
  });
  after(async () => {
    athena?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    await athena.send(new CreateWorkGroupCommand({ Name: "tickstream-dev" }));
  });

  it("polls until the query succeeds and types each cell by its column, dropping the header row", async function () {
    await moto.setTransition("athena::execution", { progression: "manual", times: 3 });
    await queueResults(
      moto,
      [
        ["symbol", "varchar"],
        ["price", "double"],
        ["volume", "bigint"],
        ["ts", "timestamp"],
        ["open", "double"],
      ],
      [
        ["AAPL", "189.12", "120", "2026-11-25 14:30:00.123", "\u0000"],
        ["MSFT", "415.5", "9007199254740993", "2026-11-25 14:31:00.000", "414"],
      ],
    );
    const progress: string[] = [];
    const result = await runAthenaQuery("SELECT * FROM ticks", {
      athena,
      workgroup: "tickstream-dev",
      database: "tickstream",
      onProgress: (message) => progress.push(message),
    });
    expect(result.engine).to.equal("athena");
    expect(result.columns).to.deep.equal(["symbol", "price", "volume", "ts", "open"]);
    expect(result.rows).to.deep.equal([
      ["AAPL", 189.12, 120, "2026-11-25T14:30:00.123Z", null],
      ["MSFT", 415.5, "9007199254740993", "2026-11-25T14:31:00.000Z", 414],
    ]);
    expect(result.bytesScanned).to.equal(0);
    expect(progress[0]).to.match(/^athena query [0-9a-f-]+ started in workgroup tickstream-dev$/);
  });

  it("stops the query in Athena when cancelled, instead of leaving it to run", async function () {
    await moto.setTransition("athena::execution", { progression: "manual", times: 1_000_000 });
    const abort = new AbortController();
    const running = runAthenaQuery("SELECT count(*) FROM ticks", {
      athena,
      workgroup: "tickstream-dev",
      database: "tickstream",
      signal: abort.signal,
      onProgress: () => setTimeout(() => abort.abort(), 300),
    });
    const error = await running.catch((caught) => caught);
    expect(error).to.be.instanceOf(QueryFailedError);
    expect(error.message).to.match(/cancelled: StopQueryExecution sent$/);
    const { QueryExecutionIds } = await athena.send(
      new ListQueryExecutionsCommand({ WorkGroup: "tickstream-dev" }),
    );
    const { QueryExecution } = await athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: QueryExecutionIds![0]! }),
    );
    expect(QueryExecution?.Status?.State).to.equal("CANCELLED");
  });

  it("prices scanned data at $5/TB with Athena's 10 MB minimum", function () {
    expect(athenaCostUsd(0)).to.be.closeTo(((10 * 1024 ** 2) / 1024 ** 4) * 5, 1e-12);
    expect(athenaCostUsd(1024 ** 4)).to.equal(5);
  });
});
