/**
 * The policy pack run as the Pulumi CLI runs it: its entry (infra/policy/index.ts, with PulumiPolicy.yaml's
 * node arguments) in a process of its own, serving the analyzer over gRPC on the port it prints; resources go
 * to it as Analyze (one resource, before it is created) and AnalyzeStack (every resource, with options, parents
 * and property dependencies) requests. Nothing here imports a rule: what the pack holds is what it serves.
 */
import { execa, type ResultPromise } from "execa";
import { createRequire } from "node:module";
import { once } from "node:events";
import type { PolicyResource } from "@pulumi/policy";

const pulumiRequire = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/package.json"));
const grpc = pulumiRequire("@grpc/grpc-js");
const analyzer = pulumiRequire("@pulumi/pulumi/proto/analyzer_pb");
const analyzerRpc = pulumiRequire("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Empty } = pulumiRequire("google-protobuf/google/protobuf/empty_pb");
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

export interface PackDiagnostic {
  readonly policy: string;
  readonly message: string;
  readonly enforcement: "advisory" | "mandatory" | "disabled" | "remediate";
  readonly urn: string;
}

export interface ServedPolicy {
  readonly name: string;
  readonly enforcement: PackDiagnostic["enforcement"];
}

export interface PolicyPackServer {
  /** The policies the pack serves (GetAnalyzerInfo). */
  policies(): Promise<ServedPolicy[]>;
  /** Analyze: each resource on its own, as the engine asks before creating or updating it. */
  analyze(resources: readonly PolicyResource[]): Promise<PackDiagnostic[]>;
  /** AnalyzeStack: all resources at once, as after a preview or an update. */
  analyzeStack(resources: readonly PolicyResource[]): Promise<PackDiagnostic[]>;
  close(): Promise<void>;
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

/** JSON-safe properties (the engine sends no undefined values). */
function struct(props: Record<string, unknown>): unknown {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(props ?? {})));
}

function options(resource: PolicyResource): unknown {
  const result = new analyzer.AnalyzerResourceOptions();
  const opts = resource.opts ?? ({} as PolicyResource["opts"]);
  result.setProtect(opts.protect ?? false);
  result.setIgnorechangesList(opts.ignoreChanges ?? []);
  result.setDeletebeforereplacedefined(opts.deleteBeforeReplace !== undefined);
  result.setDeletebeforereplace(opts.deleteBeforeReplace ?? false);
  result.setAliasesList(opts.aliases ?? []);
  result.setAdditionalsecretoutputsList(opts.additionalSecretOutputs ?? []);
  if (opts.parent) result.setParent(opts.parent);
  return result;
}

/** A request or resource message with what both carry: type, properties, URN, name and options. */
function described(message: any, resource: PolicyResource): any {
  message.setType(resource.type);
  message.setProperties(struct(resource.props));
  message.setUrn(resource.urn);
  message.setName(resource.name);
  message.setOptions(options(resource));
  return message;
}

function diagnosticsOf(response: any): PackDiagnostic[] {
  return response.getDiagnosticsList().map((diagnostic: any) => ({
    policy: diagnostic.getPolicyname(),
    message: diagnostic.getMessage(),
    enforcement: LEVELS[diagnostic.getEnforcementlevel()] ?? "mandatory",
    urn: diagnostic.getUrn(),
  }));
}

function call<T>(client: any, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

export async function startPolicyPack(): Promise<PolicyPackServer> {
  // PulumiPolicy.yaml: runtime nodejs, nodeargs "--import tsx", main index.ts.
  const child: ResultPromise = execa("node", ["--import", "tsx", "index.ts"], {
    cwd: "infra/policy",
    reject: false,
    stdin: "ignore",
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the policy pack printed no port: ${output}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^(\d+)\s*$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`the policy pack exited (${result.exitCode}): ${output}`));
    });
  });
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    async policies() {
      const info: any = await call(client, "getAnalyzerInfo", new Empty());
      return info.getPoliciesList().map((policy: any) => ({
        name: policy.getName(),
        enforcement: LEVELS[policy.getEnforcementlevel()] ?? "mandatory",
      }));
    },
    async analyze(resources) {
      const found: PackDiagnostic[] = [];
      for (const resource of resources) {
        const request = described(new analyzer.AnalyzeRequest(), resource);
        found.push(...diagnosticsOf(await call(client, "analyze", request)));
      }
      return found;
    },
    async analyzeStack(resources) {
      const request = new analyzer.AnalyzeStackRequest();
      request.setResourcesList(
        resources.map((resource) => {
          const message = described(new analyzer.AnalyzerResource(), resource);
          message.setDependenciesList(resource.dependencies.map((dependency) => dependency.urn));
          const dependencies = message.getPropertydependenciesMap();
          for (const [key, list] of Object.entries(resource.propertyDependencies)) {
            const urns = new analyzer.AnalyzerPropertyDependencies();
            urns.setUrnsList(list.map((dependency) => dependency.urn));
            dependencies.set(key, urns);
          }
          return message;
        }),
      );
      return diagnosticsOf(await call(client, "analyzeStack", request));
    },
    async close() {
      client.close();
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit").catch(() => undefined);
    },
  };
}
