import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A server process started on loopback, stopped by its PID. */
export class ServerProcess {
  private readonly output: string[] = [];
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on("data", (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on("data", (d: Buffer) => this.output.push(d.toString()));
  }

  static async start(
    name: string,
    command: string,
    args: string[],
    port: number,
    timeoutMs = 15_000,
  ): Promise<ServerProcess> {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const server = new ServerProcess(name, child, port);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${server.log()}`);
      if (await portOpen(port)) return server;
      await new Promise((r) => setTimeout(r, 100));
    }
    server.stop();
    throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms: ${server.log()}`);
  }

  log(): string {
    return this.output.join("").slice(-2000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}
