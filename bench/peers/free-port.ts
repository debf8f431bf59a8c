// A port number free for both UDP and TCP on one address right now (the kernel's pick, released again).
import dgram from "node:dgram";
import net from "node:net";

const ATTEMPTS = 20;

export async function freePort(host: string, options: { readonly tcp: boolean }): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const port = await new Promise<number>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(0, host, () => resolve(udp.address().port));
    });
    const tcpFree = !options.tcp || (await isTcpFree(host, port));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${host}`);
}

function isTcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
