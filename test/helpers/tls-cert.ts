import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";

export interface TestCertificate {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: Buffer;
  remove(): void;
}

/** A fresh self-signed certificate for localhost, 127.0.0.1 and ::1, made with openssl. */
export function makeSelfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "turnpike-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    ],
    { stdio: "ignore" },
  );
  return { dir, certPath, keyPath, cert: readFileSync(certPath), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let cachedPem: { readonly cert: string; readonly key: string } | undefined;

/** A usable certificate and key as PEM text, made once per test file: for configs that name cert and pkey files. */
export function testPem(): { readonly cert: string; readonly key: string } {
  if (cachedPem === undefined) {
    const made = makeSelfSignedCertificate();
    try {
      cachedPem = { cert: made.cert.toString(), key: readFileSync(made.keyPath, "utf8") };
    } finally {
      made.remove();
    }
  }
  return cachedPem;
}

/** The SHA-256 fingerprint of the certificate a TLS handshake on 127.0.0.1:port is answered with. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.once("error", reject);
  });
}
