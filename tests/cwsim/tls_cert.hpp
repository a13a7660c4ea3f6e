// Ephemeral TLS identity for cwsim: an in-process CA and a server certificate it signs,
// made with the OpenSSL 3 API, so tests get real certificate verification on loopback
// without any files checked in. Keys are EC P-256; certificates are X.509 v3, valid
// from one hour ago for 30 days; the server certificate names DNS:localhost,
// IP:127.0.0.1 and IP:::1.
#pragma once

#include <string>

namespace cwsim {

struct tls_material {
  std::string ca_cert_pem;      ///< what clients trust (written to --tls-dir/ca.pem)
  std::string server_cert_pem;  ///< leaf only; the CA is not needed in the chain
  std::string server_key_pem;   ///< PKCS#8, unencrypted
};

/// Generates a fresh CA and server identity. Throws std::runtime_error carrying
/// OpenSSL's error queue on failure. The CA's private key never leaves this call.
tls_material generate_tls_material();

}  // namespace cwsim
