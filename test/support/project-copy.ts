// A throwaway copy of the project, for tests that change schema/ or supabase/migrations/.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";

const copied = ["atlas.hcl", "package.json", "tsconfig.json", "schema", "scripts", "supabase", "tools", "src", "generated"];
// Shared, not copied: the installed packages and the built Atlas CLI.
const linked = ["node_modules", ".tools"];

export interface ProjectCopy {
  root: string;
  remove(): void;
}

export function copyProject(): ProjectCopy {
  const root = mkdtempSync(path.join(tmpdir(), "story-tasks-project-"));
  for (const entry of copied) cpSync(path.join(projectRoot, entry), path.join(root, entry), { recursive: true });
  for (const entry of linked) symlinkSync(path.join(projectRoot, entry), path.join(root, entry));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
