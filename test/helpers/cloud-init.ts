/** What cloud-init makes of EC2 user data: its own parser (Debian's cloud-init package), run on base64 input. */
import { execa } from "execa";
import { fileURLToPath } from "node:url";

const PARSER = fileURLToPath(new URL("./cloud-init-user-data.py", import.meta.url));

export interface CloudInitPart {
  /** The handler cloud-init picks for the part, e.g. text/x-shellscript for a "#!" script. */
  readonly type: string;
  readonly payload: string;
}

/** The parts cloud-init would run from `userDataBase64`, gzip and MIME unpacked as on an instance's first boot. */
export async function cloudInitParts(userDataBase64: string): Promise<CloudInitPart[]> {
  // Debian's python3: cloud-init lives in its dist-packages, not in another interpreter's site-packages.
  const result = await execa("/usr/bin/python3", [PARSER], { input: userDataBase64, timeout: 30_000 });
  return (JSON.parse(result.stdout) as { parts: CloudInitPart[] }).parts;
}
