/** Starts clients/conformance/gateway.py: a live `smsgateway serve` on the sandbox. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export interface GatewayInfo {
  grpc_target: string;
  sandbox_url: string;
  api_key: string | null;
  approved_template_id: string;
  generation: number;
}

export const REPO = resolve(__dirname, "..", "..", "..", "..");

export class Harness {
  private readonly lines: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private closed = false;
  info!: GatewayInfo;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (this.waiter) {
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter(line);
      } else this.lines.push(line);
    });
    child.stderr.pipe(process.stderr);
    child.on("exit", () => {
      this.closed = true;
      this.waiter?.(undefined);
    });
  }

  static async start(...args: string[]): Promise<Harness> {
    const python = process.env.SMSGW_CONFORMANCE_PYTHON ?? join(REPO, ".venv", "bin", "python");
    const child = spawn(python, [join(REPO, "clients", "conformance", "gateway.py"), ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const harness = new Harness(child);
    await harness.read();
    return harness;
  }

  private read(): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error("the gateway harness did not answer within 90 s")), 90_000);
      const take = (line: string | undefined) => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error("the gateway harness exited"));
        else {
          this.info = JSON.parse(line);
          resolvePromise();
        }
      };
      const queued = this.lines.shift();
      if (queued !== undefined) take(queued);
      else if (this.closed) take(undefined);
      else this.waiter = take;
    });
  }

  /** Stop the gateway (its streams end with UNAVAILABLE) and start it again. */
  async restart(): Promise<void> {
    this.child.stdin.write("restart\n");
    await this.read();
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((done) => this.child.on("exit", () => done()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }

  async sandbox(path: string, body: unknown): Promise<void> {
    const response = await fetch(this.info.sandbox_url + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`sandbox ${path}: HTTP ${response.status}: ${await response.text()}`);
  }
}

/** Poll check every 50 ms until it returns a value, failing after limitMs. */
export async function eventually<T>(limitMs: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
