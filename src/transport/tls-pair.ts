import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

// PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and OpenSSL's traditional form ("Proc-Type: 4,ENCRYPTED").
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,\s*ENCRYPTED/m;

/**
 * Throws, saying why, unless `cert` and `key` make a TLS context that can complete a handshake.
 * createSecureContext alone takes a key of another algorithm than the certificate's (an RSA key
 * with an ECDSA certificate, as in a renewal that switched algorithms): OpenSSL keeps the two in
 * slots of their own, and every handshake then fails.
 */
export function checkTlsPair(cert: Buffer | string, key: Buffer | string): void {
  if (ENCRYPTED_PEM.test(typeof key === "string" ? key : key.toString("latin1"))) {
    throw new Error(
      "the private key is encrypted with a passphrase, which turnpike does not take (coturn's pkey-pwd): " +
        "store it decrypted (openssl pkey -in key.pem -out plain.pem), readable by turnpike's user alone",
    );
  }
  createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new Error("the private key does not belong to the certificate");
  }
}
