// Generation of cwsim's ephemeral CA and server certificate with OpenSSL 3 (see
// tls_cert.hpp). Every OpenSSL object is owned by a unique_ptr with its free function.
#include "tls_cert.hpp"

#include <memory>
#include <stdexcept>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace cwsim {

namespace {

template <auto Free>
struct ossl_deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, ossl_deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ossl_deleter<X509_EXTENSION_free>>;

constexpr long validity_backdate_seconds = 60L * 60;   // tolerate clock skew
constexpr long validity_seconds = 30L * 24 * 60 * 60;  // 30 days

[[noreturn]] void fail(std::string_view what) {
  std::string msg = "cwsim TLS: " + std::string(what);
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += "; ";
    msg += buf;
  }
  throw std::runtime_error(msg);
}

void check(int ok, std::string_view what) {
  if (ok != 1) fail(what);
}

pkey_ptr make_p256_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation failed");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("cannot build extension ") + OBJ_nid2sn(nid) + "=" + value);
  check(X509_add_ext(cert, ext.get(), -1), "cannot add extension");
}

// A certificate for `key` named `common_name`, not yet signed or extended.
x509_ptr new_certificate(EVP_PKEY* key, const char* common_name, X509* issuer) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new failed");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  unsigned char serial_bytes[16];
  check(RAND_bytes(serial_bytes, sizeof serial_bytes), "RAND_bytes");
  serial_bytes[0] &= 0x7F;  // positive, as RFC 5280 requires
  bn_ptr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) fail("serial number");

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -validity_backdate_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_seconds) == nullptr)
    fail("validity period");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("cwsim"), -1, -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                                   -1, 0),
        "subject CN");
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name), "issuer name");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  return cert;
}

std::string to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM encoding of a certificate");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("PEM encoding of a private key");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

tls_material generate_tls_material() {
  const pkey_ptr ca_key = make_p256_key();
  const x509_ptr ca = new_certificate(ca_key.get(), "cwsim test CA", nullptr);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing the CA certificate");

  const pkey_ptr server_key = make_p256_key();
  const x509_ptr server = new_certificate(server_key.get(), "localhost", ca.get());
  add_extension(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(server.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(server.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(server.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing the server certificate");

  return tls_material{to_pem(ca.get()), to_pem(server.get()), to_pem(server_key.get())};
}

}  // namespace cwsim
