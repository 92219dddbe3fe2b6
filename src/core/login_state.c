/*
 * Login state in the browser. A pending SP-initiated login (request id,
 * return URL, expiry) used to be written to the server's store by every
 * anonymous request, and was not tied to the browser that started it. It
 * now travels in one cookie: AES-256-GCM sealed by seal.c with associated
 * data naming the SP, the host and the cookie, then base64url.
 *
 * Plaintext: "L1\n", then one line per state, oldest first:
 *   <expiry, seconds since the epoch> ' ' <request id> ' ' <return URL> '\n'
 * A step-up login's first field is "<expiry>,<authn_after seconds>,<contexts>"
 * (contexts comma-joined, may be empty); plain lines stay as they were, so
 * a cookie written before step-ups existed still opens.
 * The decoder is strict even though only this module can seal: a value that
 * opens but does not parse is refused as a whole.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_encode.h>
#include <apr_strings.h>

#include "login_state.h"

#define MAGIC "L1\n"
#define AAD_PREFIX "mod_flexsaml/login-state/v1"
/* Sealed bytes of the largest state list, plus slack: anything larger in a
 * cookie was not written by this module. */
#define MAX_PLAIN                                                                                  \
    (sizeof(MAGIC) +                                                                               \
     FLEXSAML_LOGIN_STATES_MAX * (20 + 22 + FLEXSAML_LOGIN_STATE_MAX_CONTEXTS +                    \
                                  FLEXSAML_LOGIN_STATE_MAX_ID + FLEXSAML_LOGIN_STATE_MAX_URL + 3))
#define MAX_COOKIE_CHARS (((MAX_PLAIN + 64) * 4) / 3 + 4)

const char *flexsaml_login_state_aad(apr_pool_t *p, const char *sp_entity_id, const char *host,
                                     const char *cookie_name)
{
    return apr_pstrcat(p, AAD_PREFIX, "|", sp_entity_id, "|", host, "|", cookie_name, NULL);
}

static int printable(const char *v, apr_size_t max, int space_ok)
{
    apr_size_t n = 0;
    for (; *v; v++, n++) {
        unsigned char ch = (unsigned char)*v;
        if (n >= max || ch < 0x20 || ch == 0x7f || (!space_ok && ch == ' '))
            return 0;
    }
    return 1;
}

static int id_ok(const char *id)
{
    return id && *id && printable(id, FLEXSAML_LOGIN_STATE_MAX_ID, 0);
}

static int contexts_ok(const char *c)
{
    return !c || printable(c, FLEXSAML_LOGIN_STATE_MAX_CONTEXTS, 0);
}

/* "<authn_after>,<contexts>" after an expiry's comma. */
static int parse_step_up(apr_pool_t *p, char *v, flexsaml_login_state *st)
{
    char *comma = strchr(v, ','), *end;
    long long secs;

    if (!comma || comma == v || comma - v > 12 || (v[0] == '0' && comma - v > 1))
        return 0;
    *comma = '\0';
    secs = strtoll(v, &end, 10);
    if (*end || secs < 0 || !contexts_ok(comma + 1))
        return 0;
    st->authn_after = apr_time_from_sec((apr_time_t)secs);
    st->contexts = *(comma + 1) ? apr_pstrdup(p, comma + 1) : NULL;
    return 1;
}

/* One line "<expiry>[,<step-up>] <id> <url>" without its newline; 0 if it
 * is not one. */
static int parse_line(apr_pool_t *p, char *line, flexsaml_login_state *st)
{
    char *sp1, *sp2, *end, *comma;
    long long secs;

    if (!(sp1 = strchr(line, ' ')) || !(sp2 = strchr(sp1 + 1, ' ')))
        return 0;
    *sp1 = *sp2 = '\0';
    st->authn_after = 0;
    st->contexts = NULL;
    if ((comma = strchr(line, ',')) != NULL) {
        *comma = '\0';
        if (!parse_step_up(p, comma + 1, st))
            return 0;
    }
    if (line[0] < '1' || line[0] > '9' || strlen(line) > 12)
        return 0;
    secs = strtoll(line, &end, 10);
    if (*end || secs <= 0)
        return 0;
    if (!id_ok(sp1 + 1) || !printable(sp2 + 1, FLEXSAML_LOGIN_STATE_MAX_URL, 1))
        return 0;
    st->expires = apr_time_from_sec((apr_time_t)secs);
    st->request_id = apr_pstrdup(p, sp1 + 1);
    st->return_to = apr_pstrdup(p, sp2 + 1);
    return 1;
}

static int base64url(const char *v, apr_size_t len)
{
    apr_size_t i;
    for (i = 0; i < len; i++) {
        char ch = v[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return 0;
    }
    return len % 4 != 1;
}

flexsaml_ls_outcome flexsaml_login_state_decode(apr_pool_t *p, const flexsaml_sealer *s,
                                                const char *aad, const char *value,
                                                apr_array_header_t **states)
{
    apr_size_t vlen, blen = 0, plen = 0;
    const char *bin, *plain;
    char *copy, *line, *nl;

    *states = apr_array_make(p, FLEXSAML_LOGIN_STATES_MAX + 1, sizeof(flexsaml_login_state));
    if (!value || !*value)
        return FLEXSAML_LS_ABSENT;
    vlen = strlen(value);
    if (vlen > MAX_COOKIE_CHARS || !base64url(value, vlen))
        return FLEXSAML_LS_INVALID;
    bin = (const char *)apr_pdecode_base64_binary(
        p, value, (apr_ssize_t)vlen, APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &blen);
    if (!bin || !(plain = flexsaml_unseal(p, s, aad, strlen(aad), bin, blen, &plen)))
        return FLEXSAML_LS_INVALID;
    if (plen < sizeof(MAGIC) - 1 || memcmp(plain, MAGIC, sizeof(MAGIC) - 1) != 0 ||
        memchr(plain, '\0', plen))
        return FLEXSAML_LS_INVALID;
    copy = apr_pstrmemdup(p, plain + sizeof(MAGIC) - 1, plen - (sizeof(MAGIC) - 1));
    for (line = copy; *line; line = nl + 1) {
        flexsaml_login_state st;
        if (!(nl = strchr(line, '\n')) || (*states)->nelts == FLEXSAML_LOGIN_STATES_MAX)
            goto invalid;
        *nl = '\0';
        if (!parse_line(p, line, &st))
            goto invalid;
        APR_ARRAY_PUSH(*states, flexsaml_login_state) = st;
    }
    return FLEXSAML_LS_OK;
invalid:
    apr_array_clear(*states);
    return FLEXSAML_LS_INVALID;
}

static void drop(apr_array_header_t *states, int i)
{
    flexsaml_login_state *a = (flexsaml_login_state *)states->elts;
    memmove(a + i, a + i + 1, (size_t)(states->nelts - i - 1) * sizeof(*a));
    states->nelts--;
}

flexsaml_ls_outcome flexsaml_login_state_take(apr_array_header_t *states, const char *request_id,
                                              apr_time_t now, flexsaml_login_state *found)
{
    int i;
    for (i = 0; i < states->nelts; i++) {
        flexsaml_login_state *st = &APR_ARRAY_IDX(states, i, flexsaml_login_state);
        if (strcmp(st->request_id, request_id) != 0)
            continue;
        *found = *st;
        drop(states, i);
        return found->expires <= now ? FLEXSAML_LS_EXPIRED : FLEXSAML_LS_OK;
    }
    return FLEXSAML_LS_NO_MATCH;
}

int flexsaml_login_state_add(apr_pool_t *p, apr_array_header_t *states,
                             const flexsaml_login_state *st, apr_time_t now)
{
    flexsaml_login_state *n;
    int i;

    if (!id_ok(st->request_id) || st->expires <= 0 || st->authn_after < 0 ||
        !contexts_ok(st->contexts))
        return 0;
    for (i = states->nelts - 1; i >= 0; i--)
        if (APR_ARRAY_IDX(states, i, flexsaml_login_state).expires <= now)
            drop(states, i);
    while (states->nelts >= FLEXSAML_LOGIN_STATES_MAX)
        drop(states, 0);
    n = apr_array_push(states);
    n->request_id = apr_pstrdup(p, st->request_id);
    n->return_to = st->return_to && printable(st->return_to, FLEXSAML_LOGIN_STATE_MAX_URL, 1)
                       ? apr_pstrdup(p, st->return_to)
                       : "";
    n->expires = st->expires;
    n->authn_after = st->authn_after;
    n->contexts = st->contexts && *st->contexts ? apr_pstrdup(p, st->contexts) : NULL;
    return 1;
}

const char *flexsaml_login_state_encode(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                                        const apr_array_header_t *states)
{
    apr_array_header_t *parts = apr_array_make(p, states->nelts + 1, sizeof(const char *));
    const char *plain, *sealed;
    apr_size_t slen = 0, olen = 0;
    int i;

    APR_ARRAY_PUSH(parts, const char *) = MAGIC;
    for (i = 0; i < states->nelts; i++) {
        const flexsaml_login_state *st = &APR_ARRAY_IDX(states, i, flexsaml_login_state);
        const char *step_up =
            st->authn_after > 0 || st->contexts
                ? apr_psprintf(p, ",%" APR_TIME_T_FMT ",%s", apr_time_sec(st->authn_after),
                               st->contexts ? st->contexts : "")
                : "";
        APR_ARRAY_PUSH(parts, const char *) =
            apr_psprintf(p, "%" APR_TIME_T_FMT "%s %s %s\n", apr_time_sec(st->expires), step_up,
                         st->request_id, st->return_to);
    }
    plain = apr_array_pstrcat(p, parts, 0);
    sealed = flexsaml_seal(p, s, aad, strlen(aad), plain, strlen(plain), &slen);
    if (!sealed)
        return NULL;
    return apr_pencode_base64_binary(p, (const unsigned char *)sealed, (apr_ssize_t)slen,
                                     APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &olen);
}
