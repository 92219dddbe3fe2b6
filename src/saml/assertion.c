/*
 * Reads the one assertion whose signature Lasso verified, straight from its
 * XML node. Values are the element's whole text content: a comment inside a
 * NameID or an attribute value cannot cut it short (the 2018 truncation
 * attacks relied on SPs reading only the first text node).
 */
#include <string.h>

#include <apr_strings.h>

#include "saml_xml.h"
#include "flexsaml_sp.h"

#define CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"

static apr_time_t read_time(apr_pool_t *p, xmlNode *n, const char *name,
                            flexsaml_assertion_data *out)
{
    const char *v = flexsaml_xml_attr(p, n, name);
    apr_time_t t;

    if (!v)
        return 0;
    t = flexsaml_parse_datetime(v);
    if (!t && !out->bad_time)
        out->bad_time = name;
    return t;
}

static void read_subject(apr_pool_t *p, xmlNode *subject, flexsaml_assertion_data *out)
{
    xmlNode *c;

    out->name_id = flexsaml_xml_text(p, flexsaml_xml_child(subject, SAML_NS, "NameID"));
    for (c = subject ? subject->children : NULL; c; c = c->next) {
        const char *method;
        xmlNode *data;

        if (!flexsaml_xml_is(c, SAML_NS, "SubjectConfirmation"))
            continue;
        method = flexsaml_xml_attr(p, c, "Method");
        if (!method || strcmp(method, CM_BEARER) != 0)
            continue;
        data = flexsaml_xml_child(c, SAML_NS, "SubjectConfirmationData");
        out->bearer = 1;
        out->recipient = flexsaml_xml_attr(p, data, "Recipient");
        out->sc_in_response_to = flexsaml_xml_attr(p, data, "InResponseTo");
        out->sc_not_before = read_time(p, data, "NotBefore", out);
        out->sc_not_on_or_after = read_time(p, data, "NotOnOrAfter", out);
        return;
    }
}

static void read_conditions(apr_pool_t *p, xmlNode *cond, flexsaml_assertion_data *out)
{
    xmlNode *c, *a;

    if (!cond)
        return;
    out->has_conditions = 1;
    out->not_before = read_time(p, cond, "NotBefore", out);
    out->not_on_or_after = read_time(p, cond, "NotOnOrAfter", out);
    for (c = cond->children; c; c = c->next) {
        apr_array_header_t *list;
        if (!flexsaml_xml_is(c, SAML_NS, "AudienceRestriction"))
            continue;
        list = apr_array_make(p, 2, sizeof(const char *));
        for (a = c->children; a; a = a->next)
            if (flexsaml_xml_is(a, SAML_NS, "Audience"))
                APR_ARRAY_PUSH(list, const char *) = flexsaml_xml_text(p, a);
        APR_ARRAY_PUSH(out->audience_restrictions, apr_array_header_t *) = list;
    }
}

static void read_attributes(apr_pool_t *p, xmlNode *stmt, flexsaml_assertion_data *out)
{
    xmlNode *a, *v;

    for (a = stmt->children; a; a = a->next) {
        const char *name, *format;
        if (!flexsaml_xml_is(a, SAML_NS, "Attribute"))
            continue;
        name = flexsaml_xml_attr(p, a, "Name");
        if (!name)
            continue;
        format = flexsaml_xml_attr(p, a, "NameFormat");
        apr_table_set(out->name_formats, name, format ? format : "");
        for (v = a->children; v; v = v->next) {
            const char *text;
            apr_size_t n;
            if (!flexsaml_xml_is(v, SAML_NS, "AttributeValue"))
                continue;
            text = flexsaml_xml_text(p, v);
            n = strlen(text);
            out->value_bytes += n;
            if (n > out->largest_value)
                out->largest_value = n;
            apr_table_add(out->attributes, name, text);
        }
    }
}

void flexsaml_assertion_read(apr_pool_t *p, xmlNode *assertion, flexsaml_assertion_data *out)
{
    xmlNode *c;

    memset(out, 0, sizeof(*out));
    out->audience_restrictions = apr_array_make(p, 1, sizeof(apr_array_header_t *));
    out->attributes = apr_table_make(p, 8);
    out->name_formats = apr_table_make(p, 8);
    out->id = flexsaml_xml_attr(p, assertion, "ID");
    out->issuer = flexsaml_xml_text(p, flexsaml_xml_child(assertion, SAML_NS, "Issuer"));
    read_subject(p, flexsaml_xml_child(assertion, SAML_NS, "Subject"), out);
    read_conditions(p, flexsaml_xml_child(assertion, SAML_NS, "Conditions"), out);
    for (c = assertion->children; c; c = c->next) {
        if (flexsaml_xml_is(c, SAML_NS, "AuthnStatement")) {
            apr_time_t t = read_time(p, c, "SessionNotOnOrAfter", out);
            if (t && (!out->session_not_on_or_after || t < out->session_not_on_or_after))
                out->session_not_on_or_after = t;
            if (!out->session_index)
                out->session_index = flexsaml_xml_attr(p, c, "SessionIndex");
            if (!out->authn_instant) {
                xmlNode *ctx = flexsaml_xml_child(c, SAML_NS, "AuthnContext");
                out->authn_instant = read_time(p, c, "AuthnInstant", out);
                if (ctx)
                    out->authn_context_class = flexsaml_xml_text(
                        p, flexsaml_xml_child(ctx, SAML_NS, "AuthnContextClassRef"));
            }
        } else if (flexsaml_xml_is(c, SAML_NS, "AttributeStatement")) {
            read_attributes(p, c, out);
        }
    }
}

/* xsd:dateTime as SAML uses it: UTC with 'Z' (offsets are accepted too). */
apr_time_t flexsaml_parse_datetime(const char *s)
{
    apr_time_exp_t xt;
    apr_time_t t;
    int y, mo, d, h, mi, sec, n = 0;
    long usec = 0, off = 0;
    const char *q;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return 0;
    q = s + n;
    if (*q == '.') {
        long scale = 100000;
        q++;
        if (*q < '0' || *q > '9')
            return 0;
        for (; *q >= '0' && *q <= '9'; q++) {
            usec += (*q - '0') * scale;
            scale /= 10;
        }
    }
    if (*q == 'Z') {
        q++;
    } else if ((*q == '+' || *q == '-') && strlen(q) == 6 && q[3] == ':') {
        int oh, om;
        if (sscanf(q + 1, "%2d:%2d", &oh, &om) != 2 || oh > 14 || om > 59)
            return 0;
        off = (oh * 3600L + om * 60L) * (*q == '+' ? 1 : -1);
        q += 6;
    }
    if (*q || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return 0;
    memset(&xt, 0, sizeof(xt));
    xt.tm_year = y - 1900;
    xt.tm_mon = mo - 1;
    xt.tm_mday = d;
    xt.tm_hour = h;
    xt.tm_min = mi;
    xt.tm_sec = sec;
    if (apr_time_exp_gmt_get(&t, &xt) != APR_SUCCESS)
        return 0;
    return t + (apr_time_t)usec - apr_time_from_sec(off);
}
