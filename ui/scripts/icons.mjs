// Regenerates the desktop icon set in ../icons from ../icons/opsdeck.svg.
// `tauri icon` also writes mobile and Windows-store sizes; the desktop
// bundle does not use them, so only the files tauri.conf.json names are kept.
//
// The Tauri CLI is fetched on demand by npx rather than being a dependency:
// it ships as one native package per platform, and icons change rarely.
import { execFileSync, execSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const iconsDir = resolve(here, "../../icons");
const source = join(iconsDir, "opsdeck.svg");
const keep = ["32x32.png", "128x128.png", "128x128@2x.png", "icon.png", "icon.ico", "icon.icns"];

const out = mkdtempSync(join(tmpdir(), "opsdeck-icons-"));
try {
  const args = ["--yes", "@tauri-apps/cli@^2", "icon", source, "-o", out];
  if (process.platform === "win32") {
    // npx is a .cmd script there, which only a shell can start; quoted, so
    // cmd keeps spaces in paths and the "^" of the version range.
    execSync(["npx", ...args.map((a) => `"${a}"`)].join(" "), { stdio: "inherit" });
  } else {
    execFileSync("npx", args, { stdio: "inherit" });
  }
  for (const name of keep) copyFileSync(join(out, name), join(iconsDir, name));
} finally {
  rmSync(out, { recursive: true, force: true });
}
