/*
 * The hardened XML reader: every untrusted document (a SAML response, a
 * logout message, IdP metadata) is parsed here, with libxml2's DTD
 * machinery cut off, and read through the small accessors below.
 */
#include <string.h>

#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "xml_reader.h"

/* ---- parsing: libxml2 with the DTD machinery cut off ---- */

typedef struct {
    const char *stopped; /* why the parser was stopped, or NULL */
} parse_guard;

static void stop(void *ctx, const char *why)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_guard *g = ctxt->_private;
    if (!g->stopped)
        g->stopped = why;
    xmlStopParser(ctxt);
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    stop(ctx, "the document has a DOCTYPE, which is refused");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    stop(ctx, "the document declares an entity");
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    (void)target;
    (void)data;
    stop(ctx, "the document contains a processing instruction");
}

static void on_reference(void *ctx, const xmlChar *name)
{
    (void)name;
    stop(ctx, "the document contains an entity reference");
}

static apr_status_t doc_cleanup(void *doc)
{
    xmlFreeDoc(doc);
    return APR_SUCCESS;
}

const char *flexsaml_xml_parse(apr_pool_t *p, const char *xml, apr_size_t len, xmlDoc **doc)
{
    parse_guard g = {NULL};
    xmlParserCtxtPtr ctxt;
    int wellformed;

    *doc = NULL;
    if (len > 0x7fffffff || memchr(xml, '\0', len))
        return "the document contains NUL bytes";
    ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (!ctxt)
        return "the document cannot be parsed";
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    /* ctxt->sax is this context's own copy of the handlers. */
    ctxt->_private = &g;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_internal_subset;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->processingInstruction = on_pi;
    ctxt->sax->reference = on_reference;
    xmlParseDocument(ctxt);
    wellformed = ctxt->wellFormed && !g.stopped;
    *doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    if (*doc)
        apr_pool_cleanup_register(p, *doc, doc_cleanup, apr_pool_cleanup_null);
    if (g.stopped)
        return g.stopped;
    if (!wellformed || !*doc)
        return "the document is not well-formed XML";
    return NULL;
}

int flexsaml_xml_is(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           !strcmp((const char *)n->ns->href, ns) && !strcmp((const char *)n->name, name);
}

xmlNode *flexsaml_xml_child(xmlNode *n, const char *ns, const char *name)
{
    xmlNode *c;
    for (c = n ? n->children : NULL; c; c = c->next)
        if (flexsaml_xml_is(c, ns, name))
            return c;
    return NULL;
}

const char *flexsaml_xml_attr(apr_pool_t *p, xmlNode *n, const char *name)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, (const xmlChar *)name) : NULL;
    const char *out = v ? apr_pstrdup(p, (const char *)v) : NULL;
    xmlFree(v);
    return out;
}

static int xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

const char *flexsaml_xml_text(apr_pool_t *p, xmlNode *n)
{
    xmlChar *v;
    const char *s, *e;
    const char *out;

    if (!n)
        return NULL;
    v = xmlNodeGetContent(n);
    if (!v)
        return "";
    s = (const char *)v;
    while (xml_space(*s))
        s++;
    e = s + strlen(s);
    while (e > s && xml_space(e[-1]))
        e--;
    out = apr_pstrmemdup(p, s, (apr_size_t)(e - s));
    xmlFree(v);
    return out;
}
