#include "proxy/tls_x509_util.h"

#include <arpa/inet.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include <cstring>

namespace agentsh::tls_x509_util {

using tls_handles::error_text;

namespace {

// DER length octets.
void put_len(std::string* out, size_t n) {
  if (n < 0x80) {
    out->push_back(char(n));
  } else if (n < 0x100) {
    out->push_back(char(0x81));
    out->push_back(char(n));
  } else {
    out->push_back(char(0x82));
    out->push_back(char(n >> 8));
    out->push_back(char(n & 0xff));
  }
}

std::string tlv(unsigned char tag, const std::string& body) {
  std::string out(1, char(tag));
  put_len(&out, body.size());
  return out + body;
}

std::string san_der(const std::vector<std::string>& names) {
  std::string seq;
  for (const std::string& n : names) {
    unsigned char ip[16];
    if (inet_pton(AF_INET, n.c_str(), ip) == 1) {
      seq += tlv(0x87, std::string(reinterpret_cast<char*>(ip), 4));  // [7] iPAddress
    } else if (inet_pton(AF_INET6, n.c_str(), ip) == 1) {
      seq += tlv(0x87, std::string(reinterpret_cast<char*>(ip), 16));
    } else {
      seq += tlv(0x82, n);  // [2] dNSName (IA5String)
    }
  }
  return tlv(0x30, seq);
}

struct CrtWriter {
  mbedtls_x509write_cert w;
  CrtWriter() { mbedtls_x509write_crt_init(&w); }
  ~CrtWriter() { mbedtls_x509write_crt_free(&w); }
  CrtWriter(const CrtWriter&) = delete;
  CrtWriter& operator=(const CrtWriter&) = delete;
};

struct Mpi {
  mbedtls_mpi v;
  Mpi() { mbedtls_mpi_init(&v); }
  ~Mpi() { mbedtls_mpi_free(&v); }
  Mpi(const Mpi&) = delete;
  Mpi& operator=(const Mpi&) = delete;
};

bool prepare(proxy::TlsRng& rng, const CertSpec& spec, CrtWriter* cw, Mpi* serial,
             std::string* error) {
  mbedtls_x509write_cert* w = &cw->w;
  mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(w, spec.subject_key);
  mbedtls_x509write_crt_set_issuer_key(w, spec.issuer_key);
  int ret;
  if ((ret = mbedtls_x509write_crt_set_subject_name(w, spec.subject.c_str())) != 0) {
    *error = error_text("certificate subject '" + spec.subject + "'", ret);
    return false;
  }
  if ((ret = mbedtls_x509write_crt_set_issuer_name(w, spec.issuer.c_str())) != 0) {
    *error = error_text("certificate issuer '" + spec.issuer + "'", ret);
    return false;
  }
  unsigned char sbytes[16];
  if ((ret = proxy::TlsRng::random(&rng, sbytes, sizeof sbytes)) != 0) {
    *error = error_text("certificate serial", ret);
    return false;
  }
  sbytes[0] &= 0x7f;  // positive
  sbytes[0] |= 0x01;  // and a full 16 bytes
  mbedtls_mpi_read_binary(&serial->v, sbytes, sizeof sbytes);
  mbedtls_x509write_crt_set_serial(w, &serial->v);
  if ((ret = mbedtls_x509write_crt_set_validity(w, x509_time(spec.not_before).c_str(),
                                                x509_time(spec.not_after).c_str())) != 0) {
    *error = error_text("certificate validity", ret);
    return false;
  }
  // mbedTLS marks basicConstraints critical exactly when is_ca is set, as strict
  // verifiers (Python 3.13's VERIFY_X509_STRICT) require for CAs.
  if ((ret = mbedtls_x509write_crt_set_basic_constraints(w, spec.is_ca ? 1 : 0, 0)) != 0 ||
      (ret = mbedtls_x509write_crt_set_subject_key_identifier(w)) != 0 ||
      (ret = mbedtls_x509write_crt_set_authority_key_identifier(w)) != 0) {
    *error = error_text("certificate extensions", ret);
    return false;
  }
  unsigned int ku = spec.is_ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN)
                               : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  if ((ret = mbedtls_x509write_crt_set_key_usage(w, ku)) != 0) {
    *error = error_text("certificate key usage", ret);
    return false;
  }
  if (!spec.is_ca) {
    // extendedKeyUsage: SEQUENCE { id-kp-serverAuth }
    static const std::string kEku = tlv(0x30, tlv(0x06, MBEDTLS_OID_SERVER_AUTH));
    ret = mbedtls_x509write_crt_set_extension(
        w, MBEDTLS_OID_EXTENDED_KEY_USAGE, MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
        reinterpret_cast<const unsigned char*>(kEku.data()), kEku.size());
    if (ret == 0 && !spec.san.empty()) {
      std::string san = san_der(spec.san);
      ret = mbedtls_x509write_crt_set_extension(
          w, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
          reinterpret_cast<const unsigned char*>(san.data()), san.size());
    }
    if (ret != 0) {
      *error = error_text("certificate subjectAltName/extendedKeyUsage", ret);
      return false;
    }
  }
  return true;
}

time_t to_time(const mbedtls_x509_time& t) {
  struct tm tm = {};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.mon - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.min;
  tm.tm_sec = t.sec;
  return timegm(&tm);
}

}  // namespace

bool generate_ec_key(proxy::TlsRng& rng, mbedtls_pk_context* key, std::string* error) {
  int ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0)
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key), proxy::TlsRng::random,
                              &rng);
  if (ret != 0) *error = error_text("generating an EC P-256 key", ret);
  return ret == 0;
}

void warm_up_key(proxy::TlsRng& rng, mbedtls_pk_context* key) {
  unsigned char hash[32] = {1};
  unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t len = 0;
  mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &len, proxy::TlsRng::random,
                  &rng);
}

bool issue_der(proxy::TlsRng& rng, const CertSpec& spec, std::string* der, std::string* error) {
  CrtWriter cw;
  Mpi serial;
  if (!prepare(rng, spec, &cw, &serial, error)) return false;
  unsigned char buf[4096];
  int n = mbedtls_x509write_crt_der(&cw.w, buf, sizeof buf, proxy::TlsRng::random, &rng);
  if (n < 0) {
    *error = error_text("signing the certificate", n);
    return false;
  }
  der->assign(reinterpret_cast<char*>(buf + sizeof buf - size_t(n)), size_t(n));
  return true;
}

bool issue_pem(proxy::TlsRng& rng, const CertSpec& spec, std::string* pem, std::string* error) {
  CrtWriter cw;
  Mpi serial;
  if (!prepare(rng, spec, &cw, &serial, error)) return false;
  unsigned char buf[8192];
  int ret = mbedtls_x509write_crt_pem(&cw.w, buf, sizeof buf, proxy::TlsRng::random, &rng);
  if (ret != 0) {
    *error = error_text("signing the certificate", ret);
    return false;
  }
  pem->assign(reinterpret_cast<char*>(buf));
  return true;
}

bool valid_host(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  unsigned char ip[16];
  if (inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1)
    return true;
  size_t i = host.rfind("*.", 0) == 0 ? 2 : 0;
  if (i == host.size()) return false;
  for (; i < host.size(); ++i) {
    char c = host[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return true;
}

std::string subject_of(const mbedtls_x509_crt* crt) {
  char buf[512];
  int n = mbedtls_x509_dn_gets(buf, sizeof buf, &crt->subject);
  return n < 0 ? std::string() : std::string(buf, size_t(n));
}

std::string x509_time(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[16];
  strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

time_t not_after_of(const mbedtls_x509_crt* crt) {
  return to_time(crt->valid_to);
}
time_t not_before_of(const mbedtls_x509_crt* crt) {
  return to_time(crt->valid_from);
}

}  // namespace agentsh::tls_x509_util
