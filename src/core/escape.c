/*
 * Escapes for text that goes into an HTML page or a JSON document: the
 * refusal pages, the whoami page and the JSON answers.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_escape.h>

#include "escape.h"

const char *flexsaml_json_string(apr_pool_t *p, const char *s)
{
    /* UTF-8 passes through as is (valid JSON); quotes, backslashes and
     * control characters are escaped. */
    char *out, *o;
    if (!s)
        s = "";
    out = o = apr_palloc(p, strlen(s) * 6 + 3);
    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += apr_snprintf(o, 7, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *flexsaml_html(apr_pool_t *p, const char *s)
{
    return s ? apr_pescape_entity(p, s, 0) : "";
}
