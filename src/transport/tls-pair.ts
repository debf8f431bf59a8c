import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

/**
 * Throws, saying why, unless `cert` and `key` make a TLS context that can complete a handshake.
 * createSecureContext alone takes a key of another algorithm than the certificate's (an RSA key
 * with an ECDSA certificate, as in a renewal that switched algorithms): OpenSSL keeps the two in
 * slots of their own, and every handshake then fails.
 */
export function checkTlsPair(cert: Buffer | string, key: Buffer | string): void {
  createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new Error("the private key does not belong to the certificate");
  }
}
