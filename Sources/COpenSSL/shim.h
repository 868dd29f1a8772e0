// OpenSSL 3 from Debian's libssl-dev, for TLS connections to Redis. Several of the calls dql
// needs are macros over SSL_ctrl, which Swift cannot import; these inline functions stand in.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/// Refuses protocol versions below `version` (TLS1_2_VERSION).
static inline int dql_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}

/// Sends `name` as the Server Name Indication.
static inline int dql_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// Lets SSL_write return after part of a buffer was written (as write(2) does).
static inline long dql_ssl_ctx_enable_partial_writes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
