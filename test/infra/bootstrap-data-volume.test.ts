import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { renderBootstrap } from "../../infra/bootstrap/render.ts";

const VOLUME_ID = "vol-0a1b2c3d4e5f60718";

/** The bootstrap's own lines, run alone: its settings, log() and data_device(). */
function dataDeviceHarness(): string {
  const script = renderBootstrap({
    nodeId: 1,
    voters: [],
    publicIp: "127.0.0.1",
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    kafkaVersion: "4.4.0",
    nodeVersion: "20.20.2",
    topic: "stock-ticks",
    partitions: 1,
    replicationFactor: 1,
    retentionHours: 24,
    ports: { external: 1, internal: 2, controller: 3 },
    dataVolumeId: VOLUME_ID,
  });
  const lines = script.split("\n");
  const settings = lines.filter((line) =>
    /^readonly (DATA_VOLUME_ID|DISK_BY_ID|DATA_VOLUME_WAIT_S)=/.test(line),
  );
  const log = lines.find((line) => line.startsWith("log() {"))!;
  const start = script.indexOf("data_device() {");
  const dataDevice = script.slice(start, script.indexOf("\n}\n", start) + 3);
  return [...settings, log, dataDevice, "data_device"].join("\n");
}

// EC2 User Guide, "Amazon EBS and NVMe": on Nitro instances an EBS volume is an NVMe device whose serial
// number is the volume id without the dash, linked as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…
describe("broker bootstrap: the data volume", function () {
  let byId: string;
  beforeEach(async () => (byId = await mkdtemp(path.join(tmpdir(), "tickstream-by-id-"))));
  afterEach(async () => rm(byId, { recursive: true, force: true }));

  const run = (waitSeconds: number) =>
    execa("bash", ["-euo", "pipefail", "-c", dataDeviceHarness()], {
      reject: false,
      all: true,
      env: {
        ...process.env,
        TICKSTREAM_DISK_BY_ID: byId,
        TICKSTREAM_DATA_VOLUME_WAIT_S: String(waitSeconds),
      },
    });

  it("finds the volume by its EBS volume id (the NVMe serial), whatever other disks there are", async function () {
    const device = path.join(byId, "nvme3n1");
    await writeFile(device, "");
    await writeFile(path.join(byId, "nvme1n1"), "");
    // An instance-store disk and another EBS volume, both empty and unmounted: neither may be taken.
    await symlink(path.join(byId, "nvme1n1"), path.join(byId, "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS1"));
    await symlink(
      path.join(byId, "nvme1n1"),
      path.join(byId, "nvme-Amazon_Elastic_Block_Store_vol0ffffffffffffffff"),
    );
    await symlink(device, path.join(byId, `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace("-", "")}`));
    const result = await run(5);
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.stdout.trim()).to.equal(device);
  });

  it("waits for an attachment that comes after boot, and fails, naming the volume, when it never comes", async function () {
    const device = path.join(byId, "nvme2n1");
    await writeFile(device, "");
    const late = setTimeout(
      () =>
        void symlink(
          device,
          path.join(byId, `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace("-", "")}`),
        ),
      1_500,
    );
    const waited = await run(20);
    clearTimeout(late);
    expect(waited.exitCode, waited.all).to.equal(0);
    expect(waited.stderr).to.include(`waiting for data volume ${VOLUME_ID} to be attached`);
    await rm(path.join(byId, `nvme-Amazon_Elastic_Block_Store_${VOLUME_ID.replace("-", "")}`));
    const missing = await run(1);
    expect(missing.exitCode).to.equal(1);
    expect(missing.stderr).to.include(`data volume ${VOLUME_ID} is not attached`);
  });
});
