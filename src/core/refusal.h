/*
 * Typed refusals: every reason a request or a sign-in response is refused,
 * in one table. The HTTP status, the page's title and hint, and the index
 * of the counter all come from the row, so a new reason is one line here,
 * and no part of the module chooses a code by comparing text.
 */
#ifndef FLEXSAML_REFUSAL_H
#define FLEXSAML_REFUSAL_H

/* X(NAME, "code", HTTP status, "page title", "hint for the person") */
#define FLEXSAML_REFUSALS(X)                                                                       \
    X(NO_RESPONSE, "no_response", 400, "No sign-in response",                                      \
      "The sign-in page received no SAMLResponse. Start again from the page you wanted to open.")  \
    X(BAD_BASE64, "bad_base64", 400, "Unreadable sign-in response",                                \
      "The sign-in response was damaged on the way. Start again from the page you wanted to "      \
      "open.")                                                                                     \
    X(BAD_XML, "bad_xml", 400, "Unreadable sign-in response",                                      \
      "The sign-in response is not a well-formed SAML document.")                                  \
    X(BAD_RESPONSE, "bad_response", 400, "Unreadable sign-in response",                            \
      "The sign-in response could not be processed.")                                              \
    X(BODY_TOO_LARGE, "body_too_large", 413, "Sign-in response too large",                         \
      "The sign-in response is larger than this server accepts.")                                  \
    X(ENCRYPTED_ASSERTION, "encrypted_assertion", 400, "Encrypted assertion not supported",        \
      "The identity provider encrypted the assertion. In Okta, open this app's SAML Settings and " \
      "set Assertion Encryption to Unencrypted.")                                                  \
    X(MISSING_ASSERTION, "missing_assertion", 400, "No assertion",                                 \
      "The sign-in response carries no assertion.")                                                \
    X(MULTIPLE_ASSERTIONS, "multiple_assertions", 400, "Several assertions",                       \
      "The sign-in response carries more than one assertion, which is refused.")                   \
    X(SIGNATURE_MISSING, "signature_missing", 400, "Unsigned sign-in response",                    \
      "The sign-in response is not signed as required. In Okta, set both Response and Assertion "  \
      "Signature to Signed.")                                                                      \
    X(SIGNATURE_INVALID, "signature_invalid", 400, "Invalid signature",                            \
      "The signature of the sign-in response does not verify with the configured IdP "             \
      "certificate. If Okta rotated its certificate, update FlexSAMLIdPCertificateFile.")          \
    X(ALGORITHM_REFUSED, "algorithm_refused", 400, "Weak signature algorithm",                     \
      "The sign-in response is signed with an algorithm this server refuses. In Okta, choose "     \
      "RSA-SHA256.")                                                                               \
    X(ISSUER_MISMATCH, "issuer_mismatch", 400, "Unknown identity provider",                        \
      "The sign-in response comes from an issuer other than the configured FlexSAMLIdPIssuer.")    \
    X(AUDIENCE_MISMATCH, "audience_mismatch", 400, "Response meant for another application",       \
      "The sign-in response is addressed to another application. In Okta, the Audience URI must "  \
      "equal FlexSAMLSPEntityID.")                                                                 \
    X(RECIPIENT_MISMATCH, "recipient_mismatch", 400, "Response meant for another address",         \
      "The sign-in response names another Recipient. In Okta, the Single sign-on URL must be "     \
      "this server's ACS URL.")                                                                    \
    X(DESTINATION_MISMATCH, "destination_mismatch", 400, "Response meant for another address",     \
      "The sign-in response names another Destination. In Okta, the Single sign-on URL must be "   \
      "this server's ACS URL.")                                                                    \
    X(EXPIRED, "expired", 400, "Sign-in response expired",                                         \
      "The sign-in response is too old. Start again; if it keeps happening, check this server's "  \
      "clock.")                                                                                    \
    X(NOT_YET_VALID, "not_yet_valid", 400, "Sign-in response not yet valid",                       \
      "The sign-in response is dated in the future. Check this server's clock.")                   \
    X(REPLAYED, "replayed", 400, "Sign-in response already used",                                  \
      "This sign-in response was already used once. Start again from the page you wanted to "      \
      "open.")                                                                                     \
    X(UNKNOWN_REQUEST, "unknown_request", 400, "Unknown sign-in request",                          \
      "The sign-in response answers a request this browser did not start here, or one it already " \
      "finished. Start again from the page you wanted to open.")                                   \
    X(LOGIN_STATE_MISSING, "login_state_missing", 400, "Sign-in not started in this browser",      \
      "This browser holds no sign-in started here: it was started in another browser, cookies "    \
      "are blocked for this site, or another site sent the response. Start again from the page "   \
      "you wanted to open, in this browser.")                                                      \
    X(LOGIN_STATE_INVALID, "login_state_invalid", 400, "Damaged sign-in state",                    \
      "The sign-in cookie of this browser was altered or sealed by another server. Start again "   \
      "from the page you wanted to open; if it keeps happening behind a load balancer, the "       \
      "Apache administrator must give every server the same FlexSAMLCryptoPassphrase.")            \
    X(LOGIN_STATE_EXPIRED, "login_state_expired", 400, "Sign-in took too long",                    \
      "The sign-in was started longer ago than FlexSAMLRequestLifetime allows. Start again from "  \
      "the page you wanted to open.")                                                              \
    X(LOGIN_STATE_REUSED, "login_state_reused", 400, "Sign-in already completed",                  \
      "This sign-in request was already answered once; a copy of its cookie cannot be used "       \
      "again. Start again from the page you wanted to open.")                                      \
    X(UNSOLICITED, "unsolicited", 400, "Unsolicited sign-in refused",                              \
      "This server accepts only sign-ins that it started (FlexSAMLIdPInitiated off). Start from "  \
      "the page you wanted to open.")                                                              \
    X(STATUS_NOT_SUCCESS, "status_not_success", 400, "Sign-in refused by the identity provider",   \
      "The identity provider did not sign you in.")                                                \
    X(MISSING_CLAIM, "missing_claim", 400, "Missing attribute",                                    \
      "The sign-in response lacks an attribute this server needs.")                                \
    X(BAD_CLAIM, "bad_claim", 400, "Invalid attribute",                                            \
      "An attribute of the sign-in response holds control characters, which are refused.")         \
    X(CLAIM_TOO_LARGE, "claim_too_large", 400, "Attribute too large",                              \
      "The attributes of the sign-in response exceed FlexSAMLMaxAttributeBytes.")                  \
    X(NO_ROLE, "no_role", 403, "No Flex role",                                                     \
      "Your account has no Flex role (agent, supervisor or admin). In Okta: Directory, People, "   \
      "your user, Profile, User type; list several roles separated by commas.")                    \
    X(AUTHN_NOT_FRESH, "authn_not_fresh", 403, "Sign-in not repeated",                             \
      "This page asks you to sign in again, but the identity provider answered with an earlier "   \
      "sign-in. Sign out of Okta and try again; the Okta app must not be set to skip "             \
      "re-authentication.")                                                                        \
    X(AUTHN_CONTEXT, "authn_context", 403, "Stronger sign-in needed",                              \
      "This page needs a stronger sign-in (for example a second factor) than the identity "        \
      "provider reported. In Okta, add that factor to the app's sign-on policy.")                  \
    X(SESSION_STORE, "session_store", 503, "Session store unavailable",                            \
      "The session store cannot be reached. Try again in a moment.")                               \
    X(SESSION_STORE_FULL, "session_store_full", 503, "Session store full",                         \
      "The server has no room for a new session. Signed-in users are not affected; the "           \
      "administrator has to raise the size of FlexSAMLSessionCache.")                              \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", 405, "Method not allowed",                         \
      "This address accepts only the sign-in response, sent with POST.")                           \
    X(INTERNAL, "internal", 500, "Sign-in unavailable",                                            \
      "The sign-in could not be completed because of a server error.")

/* FLEXSAML_R_NONE (0) means "not refused"; the reasons follow from 1. */
typedef enum {
    FLEXSAML_R_NONE = 0,
#define FLEXSAML_REFUSAL_ENUM(name, code, status, title, hint) FLEXSAML_R_##name,
    FLEXSAML_REFUSALS(FLEXSAML_REFUSAL_ENUM)
#undef FLEXSAML_REFUSAL_ENUM
        FLEXSAML_R_COUNT
} flexsaml_refusal;

typedef struct {
    const char *code;  /* in the log line, the page and the counter's label */
    int status;        /* the HTTP status of the page */
    const char *title; /* the page's heading */
    const char *hint;  /* what the person (or the Okta admin) can do */
} flexsaml_refusal_row;

/* The row of a reason; NULL for FLEXSAML_R_NONE or a value out of range. */
const flexsaml_refusal_row *flexsaml_refusal_info(flexsaml_refusal r);
/* The code of a reason ("" for FLEXSAML_R_NONE), for messages and tools. */
const char *flexsaml_refusal_code(flexsaml_refusal r);

#endif
