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

  it("says so for a key encrypted with a passphrase, in PKCS#8 or OpenSSL's traditional form, rather than OpenSSL's bad decrypt", async () => {
    const certificate = makeSelfSignedCertificate();
    made.push(certificate);
    const pkcs8 = join(certificate.dir, "pkcs8.pem");
    const traditional = join(certificate.dir, "traditional.pem");
    execFileSync("openssl", ["pkey", "-in", certificate.keyPath, "-aes256", "-passout", "pass:x", "-out", pkcs8], { stdio: "ignore" });
    execFileSync("openssl", ["ec", "-in", certificate.keyPath, "-aes256", "-passout", "pass:x", "-out", traditional], { stdio: "ignore" });
    expect(readFileSync(pkcs8, "utf8")).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    expect(readFileSync(traditional, "utf8")).toContain("Proc-Type: 4,ENCRYPTED");
    for (const keyPath of [pkcs8, traditional]) {
      await expect(readTlsMaterial(certificate.certPath, keyPath, "cert", "pkey")).rejects.toThrow(
        `cannot use cert ${certificate.certPath} with pkey ${keyPath}: the private key is encrypted with a passphrase, which turnpike does not take (coturn's pkey-pwd)`,
      );
    }
  });
});
