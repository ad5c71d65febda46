/**
 * A Postgres server of the test's own (initdb into a temporary directory, a free port), so a test
 * can restart it without disturbing the machine's server that the other test files share. Uses
 * the machine's Postgres binaries; as root it runs them as the `postgres` user (initdb refuses
 * root). Returns null where no binaries are found.
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PrivateServer {
  /** postgres://… of its `postgres` database. */
  url: string;
  /** A fast restart (clean shutdown, start again); resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string | null {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(join(dir, "initdb"))) return dir;
  } catch {
    // no pg_config on PATH
  }
  if (!existsSync("/usr/lib/postgresql")) return null;
  for (const version of readdirSync("/usr/lib/postgresql").sort().reverse()) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  return null;
}

/** Whether this machine has Postgres binaries to start a private server with. */
export const privateServerAvailable = () => binDir() !== null;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrivateServer(): Promise<PrivateServer | null> {
  const bin = binDir();
  if (!bin) return null;
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "coalesce-pg-"));
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const as = (cmd: string, args: string[]) => (root ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const port = await freePort();
  const data = join(dir, "data");
  const options = ["-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "-l", join(dir, "log")];
  await as("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  await as("pg_ctl", ["-D", data, ...options, "-w", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: async () => {
      await as("pg_ctl", ["-D", data, ...options, "-m", "fast", "-w", "restart"]);
    },
    stop: async () => {
      await as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
