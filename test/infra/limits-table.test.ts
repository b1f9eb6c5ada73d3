/**
 * The README's table of AWS's limits stays whole: a row for every resource type the program declares, and every
 * rule or file a row names exists. A new resource type, or a rule renamed, fails here until the table follows.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { RESOURCE_POLICIES, STACK_POLICIES } from "../../infra/policy/rules.ts";

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(folder, entry.name))
      : entry.name.endsWith(".ts")
        ? [path.join(folder, entry.name)]
        : [],
  );
}

const readme = readFileSync("README.md", "utf8");
const section = readme.slice(readme.indexOf("### AWS's limits, carried as the project's rules"));
const rows = section
  .slice(0, section.indexOf("\n\n", section.indexOf("| resource |")))
  .split("\n")
  .filter((line) => line.startsWith("| ") && !line.startsWith("| resource") && !line.startsWith("|---"))
  .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| |\s*\|$/g, "")));

describe("the README's table of AWS's limits", function () {
  it("has rows, each with a resource, an input, a rule, a source and what enforces it", function () {
    expect(rows.length).to.be.greaterThan(30);
    for (const row of rows) expect(row, row.join(" | ")).to.have.length(5);
  });

  it("has a row for every AWS resource type the program declares", function () {
    const declared = new Set(
      sources("infra").flatMap((file) =>
        [...readFileSync(file, "utf8").matchAll(/new (aws\.[a-z0-9]+\.[A-Za-z0-9]+)\(/g)].map(
          (match) => match[1]!,
        ),
      ),
    );
    expect(declared.size).to.be.greaterThan(25);
    const listed = new Set(
      rows.flatMap((row) => [...row[0]!.matchAll(/`(aws\.[^`]+)`/g)].map((match) => match[1]!)),
    );
    expect([...declared].filter((type) => !listed.has(type))).to.deep.equal([]);
  });

  it("names only rules the pack holds and files that exist", function () {
    const rules = new Set([...RESOURCE_POLICIES, ...STACK_POLICIES].map((policy) => policy.name));
    const named = rows.flatMap((row) => [...row[4]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
    const ruleNames = named.filter((name) => /^[a-z0-9]+(-[a-z0-9]+)+$/.test(name));
    expect(ruleNames.length).to.be.greaterThan(15);
    expect(ruleNames.filter((name) => !rules.has(name))).to.deep.equal([]);
    const files = named.filter((name) => /\.ts$/.test(name));
    expect(files.filter((file) => !existsSync(file))).to.deep.equal([]);
    // Every rule of the pack appears in the table.
    expect([...rules].filter((rule) => !ruleNames.includes(rule))).to.deep.equal([]);
  });
});
