import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { renderTestBootstrap, scriptFunction, scriptSettingsAndLog } from "../helpers/bootstrap-script.ts";

const VOLUME_ID = "vol-0a1b2c3d4e5f60718";

/** The bootstrap's own lines, run alone: its settings, log() and data_device(). */
function dataDeviceHarness(): string {
  const script = renderTestBootstrap({ dataVolumeId: VOLUME_ID });
  return [
    ...scriptSettingsAndLog(script, ["DATA_VOLUME_ID", "DISK_BY_ID", "DATA_VOLUME_WAIT_S"]),
    scriptFunction(script, "data_device"),
    "data_device",
  ].join("\n");
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
