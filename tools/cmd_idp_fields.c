/*
 * flexsaml idp-fields: from Okta's IdP metadata, the three values Flex asks
 * for (certificate, SSO URL, issuer) as the directives to paste, and what
 * the certificate is (subject, fingerprints, expiry).
 */
#include <string.h>

#include <apr_strings.h>

#include "tool.h"

#define DEFAULT_CERT_PATH "/etc/apache2/flexsaml/okta.cert"

static const char usage[] =
    "Usage: flexsaml idp-fields [--cert-out FILE] <okta metadata file, or - for stdin>\n"
    "\n"
    "Prints the FlexSAMLIdPCertificateFile, FlexSAMLIdPSSOURL and FlexSAMLIdPIssuer\n"
    "directives for the IdP described by the metadata (Okta: the app's Sign On tab,\n"
    "\"Identity Provider metadata\"), the certificate to save, and its subject,\n"
    "fingerprints and expiry.\n"
    "\n"
    "      --cert-out FILE  also write the certificate (PEM) to FILE, which must not\n"
    "                       exist yet, and name it in the directive\n"
    "      --now TIME       judge the expiry at this xsd:dateTime (or FLEXSAML_NOW)\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0, 1 when the metadata cannot be used, 2 on a usage error.\n";

static void print_cert(tool_ctx *t, const tool_cert *c, int index, int count)
{
    apr_interval_time_t left = c->not_after - t->now;

    if (count > 1)
        printf("\nSigning certificate %d of %d\n", index + 1, count);
    else
        printf("\nSigning certificate\n");
    printf("  %-13s%s\n", "Subject", c->subject);
    printf("  %-13s%s\n", "Issuer", !strcmp(c->issuer, c->subject) ? "(self-signed)" : c->issuer);
    printf("  %-13s%s\n", "SHA-256", c->sha256);
    printf("  %-13s%s\n", "SHA-1", c->sha1);
    printf("  %-13s%s\n", "Key", c->key ? c->key : "(unknown)");
    if (c->not_before > t->now)
        printf("  %-13s%s: not valid yet (in %s): is this machine's clock right?\n", "Not before",
               tool_iso_time(t->p, c->not_before), tool_duration(t->p, c->not_before - t->now));
    else
        printf("  %-13s%s\n", "Not before", tool_iso_time(t->p, c->not_before));
    if (!c->not_after)
        printf("  %-13s%s\n", "Expires", "(unreadable)");
    else if (left <= 0)
        printf("  %-13s%s: EXPIRED %s ago. The module still checks signatures with it\n"
               "  %-13s(and logs an error at startup): rotate it in Okta (the app's Sign On tab,\n"
               "  %-13sSAML Signing Certificates), then run this again on the new metadata.\n",
               "Expires", tool_iso_time(t->p, c->not_after), tool_duration(t->p, -left), "", "");
    else if (left < apr_time_from_sec(30 * 86400))
        printf("  %-13s%s: in %s. Plan the rotation in Okta (the app's Sign On tab)\n"
               "  %-13sand replace this certificate in Apache at the same time.\n",
               "Expires", tool_iso_time(t->p, c->not_after), tool_duration(t->p, left), "");
    else
        printf("  %-13s%s (in %s)\n", "Expires", tool_iso_time(t->p, c->not_after),
               tool_duration(t->p, left));
}

int tool_idp_fields(tool_ctx *t, int argc, const char *const *argv)
{
    const char *file = NULL, *cert_out = NULL, *val = NULL, *err = NULL, *pem;
    apr_array_header_t *certs;
    flexsaml_idp *idp;
    char *data;
    apr_size_t len;
    int i;

    for (i = 0; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return TOOL_OK;
        } else if (tool_opt(argc, argv, &i, "cert-out", 0, &val, &err)) {
            cert_out = val;
        } else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "flexsaml idp-fields: unexpected argument %s\n%s",
                    tool_safe(t->p, argv[i], 60), usage);
            return TOOL_USAGE;
        }
        if (err) {
            fprintf(stderr, "flexsaml idp-fields: --%s needs a value\n", err);
            return TOOL_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "flexsaml idp-fields: the metadata file is required\n%s", usage);
        return TOOL_USAGE;
    }
    if ((err = tool_read_file(t->p, file, TOOL_MAX_INPUT, &data, &len)) != NULL) {
        fprintf(stderr, "flexsaml idp-fields: %s\n", tool_safe(t->p, err, 400));
        return TOOL_USAGE;
    }
    /* The core's reading, so what is printed is what the module would load
     * from FlexSAMLIdPMetadataFile. */
    if ((err = flexsaml_idp_from_metadata(t->p, data, len, &idp)) != NULL) {
        printf("%s: %s\n", tool_safe(t->p, file, 300), tool_safe(t->p, err, 400));
        if (strstr(data, "EntityDescriptor") == NULL)
            printf("Expected Okta's \"Identity Provider metadata\" (an md:EntityDescriptor XML "
                   "document).\n");
        return TOOL_REFUSED;
    }
    certs = apr_array_make(t->p, idp->certs_b64->nelts, sizeof(tool_cert));
    for (i = 0; i < idp->certs_b64->nelts; i++) {
        if ((err = tool_cert_read(t->p, APR_ARRAY_IDX(idp->certs_b64, i, const char *),
                                  apr_array_push(certs))) != NULL) {
            printf("%s: a signing certificate %s\n", tool_safe(t->p, file, 300), err);
            return TOOL_REFUSED;
        }
    }
    pem = tool_cert_pem(t->p, APR_ARRAY_IDX(certs, 0, tool_cert).b64);
    if (cert_out && (err = tool_write_file(t->p, cert_out, pem, strlen(pem))) != NULL) {
        fprintf(stderr, "flexsaml idp-fields: %s\n", err);
        return TOOL_USAGE;
    }

    printf("Okta IdP: %s\n\n", tool_safe(t->p, idp->entity_id, 300));
    printf("Paste into the FlexSAML virtual host (Flex: X.509 certificate, SSO URL, issuer):\n\n");
    printf("    FlexSAMLIdPCertificateFile  %s\n",
           cert_out ? tool_safe(t->p, cert_out, 300) : DEFAULT_CERT_PATH);
    printf("    FlexSAMLIdPSSOURL           %s\n", tool_safe(t->p, idp->sso_url, 400));
    printf("    FlexSAMLIdPIssuer           %s\n", tool_safe(t->p, idp->entity_id, 400));
    if (cert_out)
        printf("\nThe certificate was written to %s:\n\n", tool_safe(t->p, cert_out, 300));
    else
        printf("\nSave this certificate as %s (or use --cert-out FILE):\n\n", DEFAULT_CERT_PATH);
    fputs(pem, stdout);
    printf("\nOr keep the metadata file itself instead of the three lines (not both):\n\n"
           "    FlexSAMLIdPMetadataFile     %s\n",
           strcmp(file, "-") ? tool_safe(t->p, file, 300) : "/etc/apache2/flexsaml/okta.xml");
    if (certs->nelts > 1)
        printf("\nThe metadata lists %d signing certificates (a rotation in progress?): the\n"
               "three lines carry only the first; FlexSAMLIdPMetadataFile trusts all of them.\n",
               certs->nelts);
    for (i = 0; i < certs->nelts; i++)
        print_cert(t, &APR_ARRAY_IDX(certs, i, tool_cert), i, certs->nelts);
    return TOOL_OK;
}
