/*
 * SAML Single Logout messages on the HTTP-Redirect binding: a signed
 * LogoutRequest for the IdP (Okta requires it signed), and the reading of
 * what the IdP sends back (a LogoutResponse, or its own LogoutRequest).
 * Redirect-binding signatures cover the query string, not the XML, so this
 * is OpenSSL and zlib work; the inflated document is capped before parsing
 * (a deflate bomb stops at the cap) and parsed without DTD or network.
 */
#include <string.h>
#include <zlib.h>

#include <apr_strings.h>
#include <apr_escape.h>
#include <apr_base64.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "flexsaml_sp.h"
#include "logout.h"
#include "query_sign.h"
#include "xml_reader.h"

#define MAX_INFLATED (64 * 1024)
#define STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"

static const char *xml_esc(apr_pool_t *p, const char *s)
{
    return apr_pescape_entity(p, s ? s : "", 1);
}

static const char *new_id(apr_pool_t *p)
{
    unsigned char raw[20];
    char hex[41];
    int i;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return NULL;
    for (i = 0; i < 20; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return apr_pstrcat(p, "_", hex, NULL);
}

static const char *now_xsd(apr_pool_t *p)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_now());
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

static const char *deflate_b64(apr_pool_t *p, const char *xml)
{
    z_stream z;
    apr_size_t n = strlen(xml), cap = compressBound((uLong)n) + 64;
    unsigned char *out = apr_palloc(p, cap);
    char *b64;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    z.next_in = (Bytef *)xml;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        return NULL;
    }
    n = z.total_out;
    deflateEnd(&z);
    b64 = apr_palloc(p, apr_base64_encode_len((int)n));
    apr_base64_encode(b64, (const char *)out, (int)n);
    return b64;
}

/* param=<deflated, signed message>[&RelayState=..]&SigAlg=..&Signature=.. */
static const char *redirect_url(apr_pool_t *p, const char *dest, const char *param, const char *xml,
                                const char *relay_state, const char *key_pem, const char **url)
{
    const char *msg = deflate_b64(p, xml), *query;

    if (!msg)
        return "cannot compress the logout message";
    query = apr_pstrcat(p, param, "=", flexsaml_query_escape(p, msg), NULL);
    if (relay_state)
        query = apr_pstrcat(p, query, "&RelayState=", flexsaml_query_escape(p, relay_state), NULL);
    /* Logouts are few, and come from people signed in: the key is parsed
     * here rather than kept. */
    if (!(query = flexsaml_query_sign(p, query, flexsaml_query_key(p, key_pem))))
        return "cannot sign the logout message with the SP private key";
    *url = apr_pstrcat(p, dest, strchr(dest, '?') ? "&" : "?", query, NULL);
    return NULL;
}

const char *flexsaml_logout_request_url(apr_pool_t *p, const char *dest, const char *issuer,
                                        const char *name_id, const char *session_index,
                                        const char *relay_state, const char *key_pem,
                                        const char **url, const char **id)
{
    const char *xml;

    if (!(*id = new_id(p)))
        return "the random generator failed";
    xml = apr_pstrcat(
        p, "<samlp:LogoutRequest xmlns:samlp=\"" SAMLP_NS "\" xmlns:saml=\"" SAML_NS "\" ID=\"",
        *id, "\" Version=\"2.0\" IssueInstant=\"", now_xsd(p), "\" Destination=\"",
        xml_esc(p, dest), "\"><saml:Issuer>", xml_esc(p, issuer),
        "</saml:Issuer><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:"
        "unspecified\">",
        xml_esc(p, name_id), "</saml:NameID>",
        session_index ? apr_pstrcat(p, "<samlp:SessionIndex>", xml_esc(p, session_index),
                                    "</samlp:SessionIndex>", NULL)
                      : "",
        "</samlp:LogoutRequest>", NULL);
    return redirect_url(p, dest, "SAMLRequest", xml, relay_state, key_pem, url);
}

const char *flexsaml_logout_response_url(apr_pool_t *p, const char *dest, const char *issuer,
                                         const char *in_response_to, int success,
                                         const char *relay_state, const char *key_pem,
                                         const char **url)
{
    const char *id = new_id(p), *xml;

    if (!id)
        return "the random generator failed";
    xml = apr_pstrcat(
        p, "<samlp:LogoutResponse xmlns:samlp=\"" SAMLP_NS "\" xmlns:saml=\"" SAML_NS "\" ID=\"",
        id, "\" Version=\"2.0\" IssueInstant=\"", now_xsd(p), "\" Destination=\"", xml_esc(p, dest),
        "\" InResponseTo=\"", xml_esc(p, in_response_to), "\"><saml:Issuer>", xml_esc(p, issuer),
        "</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"",
        success ? STATUS_SUCCESS : "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "\"/></samlp:Status></samlp:LogoutResponse>", NULL);
    return redirect_url(p, dest, "SAMLResponse", xml, relay_state, key_pem, url);
}

/* The still-encoded value of a query parameter: the signature covers it. */
static const char *raw_param(apr_pool_t *p, const char *query, const char *name)
{
    apr_size_t n = strlen(name);
    const char *s = query;
    while (s && *s) {
        if (!strncmp(s, name, n) && s[n] == '=') {
            const char *end = strchr(s + n + 1, '&');
            return apr_pstrmemdup(p, s + n + 1,
                                  end ? (apr_size_t)(end - s - n - 1) : strlen(s + n + 1));
        }
        s = strchr(s, '&');
        if (s)
            s++;
    }
    return NULL;
}

static const char *decoded(apr_pool_t *p, const char *raw)
{
    char *v = apr_pstrdup(p, raw), *c;
    for (c = v; *c; c++)
        if (*c == '+')
            *c = ' ';
    return apr_unescape_url(v, v, strlen(v) + 1, NULL, NULL, 0, NULL) == APR_SUCCESS ? v : NULL;
}

static int verify_with(const char *cert_b64, const char *signed_part, const unsigned char *sig,
                       apr_size_t sig_len)
{
    unsigned char der[16384];
    const unsigned char *d = der;
    int n = apr_base64_decode_len(cert_b64), ok = 0;
    X509 *x;
    EVP_MD_CTX *ctx;

    if (n <= 0 || n > (int)sizeof(der))
        return 0;
    n = apr_base64_decode_binary(der, cert_b64);
    x = d2i_X509(NULL, &d, n);
    ctx = EVP_MD_CTX_new();
    if (x && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)) == 1)
        ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)signed_part,
                              strlen(signed_part)) == 1;
    EVP_MD_CTX_free(ctx);
    X509_free(x);
    return ok;
}

static const char *inflate_b64(apr_pool_t *p, const char *b64, apr_size_t *len)
{
    unsigned char *in, *out = apr_palloc(p, MAX_INFLATED + 1);
    int n;
    z_stream z;
    int rc;

    if (strlen(b64) > 4 * MAX_INFLATED)
        return NULL;
    in = apr_palloc(p, apr_base64_decode_len(b64));
    n = apr_base64_decode_binary(in, b64);
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK)
        return NULL;
    z.next_in = in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = MAX_INFLATED;
    rc = inflate(&z, Z_FINISH);
    *len = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return NULL; /* truncated, corrupt, or larger than the cap */
    out[*len] = '\0';
    return (const char *)out;
}

const char *flexsaml_logout_read(apr_pool_t *p, const char *query,
                                 const apr_array_header_t *certs_b64, flexsaml_logout_msg *out)
{
    const char *param = "SAMLResponse", *raw, *relay, *sigalg, *sig_raw, *signed_part, *sig_b64;
    const char *xml, *err;
    unsigned char *sig;
    apr_size_t sig_len, xml_len;
    xmlDoc *doc;
    xmlNode *root;
    int i, ok = 0;

    memset(out, 0, sizeof(*out));
    out->refusal = FLEXSAML_R_BAD_RESPONSE;
    if (!query)
        return "no query string";
    if (!(raw = raw_param(p, query, param))) {
        param = "SAMLRequest";
        if (!(raw = raw_param(p, query, param)))
            return "neither SAMLRequest nor SAMLResponse";
    }
    relay = raw_param(p, query, "RelayState");
    sigalg = raw_param(p, query, "SigAlg");
    sig_raw = raw_param(p, query, "Signature");
    out->refusal = FLEXSAML_R_SIGNATURE_INVALID;
    if (!sigalg || !sig_raw)
        return "the logout message is not signed";
    if (strcmp(decoded(p, sigalg) ? decoded(p, sigalg) : "", FLEXSAML_SIGALG_RSA_SHA256) != 0)
        return "the logout message is not signed with RSA-SHA256";
    signed_part = apr_pstrcat(p, param, "=", raw, relay ? "&RelayState=" : "", relay ? relay : "",
                              "&SigAlg=", sigalg, NULL);
    if (!(sig_b64 = decoded(p, sig_raw)))
        return "the signature is not URL-encoded base64";
    sig = apr_palloc(p, apr_base64_decode_len(sig_b64));
    sig_len = (apr_size_t)apr_base64_decode_binary(sig, sig_b64);
    for (i = 0; i < certs_b64->nelts && !ok; i++)
        ok = verify_with(APR_ARRAY_IDX(certs_b64, i, const char *), signed_part, sig, sig_len);
    if (!ok)
        return "the logout message signature does not verify with the IdP certificate";
    out->refusal = FLEXSAML_R_BAD_RESPONSE;
    if (!(xml = decoded(p, raw)) || !(xml = inflate_b64(p, xml, &xml_len)))
        return "the logout message does not inflate (corrupt, or over 64 KiB)";
    if ((err = flexsaml_xml_parse(p, xml, xml_len, &doc)) != NULL)
        return apr_pstrcat(p, "the logout message: ", err, NULL);
    root = xmlDocGetRootElement(doc);
    if (!root || !(flexsaml_xml_is(root, SAMLP_NS, "LogoutResponse") ||
                   flexsaml_xml_is(root, SAMLP_NS, "LogoutRequest")))
        return "the logout message is not a samlp:LogoutRequest or LogoutResponse";
    out->is_request = flexsaml_xml_is(root, SAMLP_NS, "LogoutRequest");
    out->id = flexsaml_xml_attr(p, root, "ID");
    out->destination = flexsaml_xml_attr(p, root, "Destination");
    out->in_response_to = flexsaml_xml_attr(p, root, "InResponseTo");
    out->issuer = flexsaml_xml_text(p, flexsaml_xml_child(root, SAML_NS, "Issuer"));
    out->name_id = flexsaml_xml_text(p, flexsaml_xml_child(root, SAML_NS, "NameID"));
    out->session_index = flexsaml_xml_text(p, flexsaml_xml_child(root, SAMLP_NS, "SessionIndex"));
    out->status = flexsaml_xml_attr(
        p, flexsaml_xml_child(flexsaml_xml_child(root, SAMLP_NS, "Status"), SAMLP_NS, "StatusCode"),
        "Value");
    out->success = out->status && !strcmp(out->status, STATUS_SUCCESS);
    out->relay_state = relay ? decoded(p, relay) : NULL;
    out->issued = flexsaml_parse_datetime(flexsaml_xml_attr(p, root, "IssueInstant"));
    out->not_on_or_after = flexsaml_parse_datetime(flexsaml_xml_attr(p, root, "NotOnOrAfter"));
    out->refusal = FLEXSAML_R_NONE;
    return NULL;
}

/* A signed logout URL sits in browser history and proxy logs: without these
 * checks one captured URL, replayed any time later or sent to another SP of
 * the same IdP, would end a session there. */
const char *flexsaml_logout_check(apr_pool_t *p, const flexsaml_logout_msg *m, const char *dest,
                                  apr_time_t now, apr_interval_time_t skew,
                                  apr_interval_time_t max_age, flexsaml_refusal *why)
{
    *why = FLEXSAML_R_DESTINATION_MISMATCH;
    if (!m->destination || strcmp(m->destination, dest) != 0)
        return apr_psprintf(p, "the logout message is addressed to %s, not %s",
                            m->destination ? m->destination : "no Destination", dest);
    *why = FLEXSAML_R_BAD_RESPONSE;
    if (!m->id || !*m->id)
        return "the logout message has no ID";
    if (!m->issued)
        return "the logout message has no readable IssueInstant";
    *why = FLEXSAML_R_NOT_YET_VALID;
    if (m->issued > now + skew)
        return "the logout message is issued in the future (check the clocks)";
    *why = FLEXSAML_R_EXPIRED;
    if (m->issued < now - skew - max_age)
        return "the logout message was issued too long ago";
    if (m->not_on_or_after && now >= m->not_on_or_after + skew)
        return "the logout message is past its NotOnOrAfter";
    *why = FLEXSAML_R_NONE;
    return NULL;
}
