import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readTlsMaterial } from "../../src/server/relay-node.js";
import { checkTlsPair } from "../../src/transport/tls-pair.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";

const made: TestCertificate[] = [];
afterEach(() => {
  for (const certificate of made.splice(0)) certificate.remove();
});

describe("checkTlsPair", () => {
  it("takes a certificate with its own key, and refuses another's key, of the same algorithm or another (which OpenSSL's context alone would take)", async () => {
    const certificate = makeSelfSignedCertificate();
    const other = makeSelfSignedCertificate();
    made.push(certificate, other);
    const rsaKey = join(certificate.dir, "rsa.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaKey], { stdio: "ignore" });
    expect(() => checkTlsPair(certificate.cert, readFileSync(certificate.keyPath))).not.toThrow();
    expect(() => checkTlsPair(certificate.cert, readFileSync(other.keyPath))).toThrow();
    expect(() => checkTlsPair(certificate.cert, readFileSync(rsaKey))).toThrow("the private key does not belong to the certificate");
    // What start and every reload read the files with.
    await expect(readTlsMaterial(certificate.certPath, rsaKey, "cert", "pkey")).rejects.toThrow(
      `cannot use cert ${certificate.certPath} with pkey ${rsaKey}: the private key does not belong to the certificate`,
    );
  });
});
