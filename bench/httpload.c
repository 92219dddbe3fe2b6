/*
 * httpload: sends a fixed list of prepared HTTP requests, each exactly once,
 * over C keep-alive connections to 127.0.0.1, and reports what came back.
 *
 * The ACS benchmark needs what wrk cannot give: every SAML response posted
 * once (the replay caches refuse a second use), a fixed count rather than a
 * fixed duration, per-request latencies, and the session cookie each login
 * set. One thread, poll(), no retries: a request that gets no answer is an
 * error, never sent again.
 *
 *   httpload -p PORT -f REQUESTS [-c CONNS] [-e STATUS] [-k COOKIE -o COOKIES_OUT]
 *            [-s STATUSES_OUT] [-t TIMEOUT_S]
 *
 * REQUESTS holds records "<length>\n<length bytes of a complete HTTP/1.1 request>".
 * COOKIES_OUT gets the value of cookie COOKIE each response set, STATUSES_OUT
 * each response's status (-1: no answer), one line per request, in order.
 * Prints one JSON object on stdout. Exit status 0 when every request got the
 * expected status (-e, default: any), 1 otherwise, 2 on a usage or I/O error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define RBUF 65536

typedef struct {
    const char *data;
    size_t len;
} request;

typedef struct {
    int fd;
    long req;    /* index of the request in flight, -1 when idle */
    size_t sent; /* bytes of it written */
    char *buf;   /* response bytes read so far */
    size_t have;
    double started;
} conn;

static request *reqs;
static long nreqs, next_req, done_reqs, errors, reconnects;
static double *lat_ms;
static int *status_of;
static char **cookie_of;
static const char *cookie_name;
static int port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "httpload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int open_conn(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        die("socket");
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *all, *p, *end;
    long size, cap = 1024;

    if (!f)
        die(path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    all = malloc((size_t)size + 1);
    if (!all || fread(all, 1, (size_t)size, f) != (size_t)size)
        die("read");
    fclose(f);
    all[size] = '\0';
    reqs = malloc(sizeof(*reqs) * (size_t)cap);
    for (p = all, end = all + size; p < end;) {
        char *nl;
        long n = strtol(p, &nl, 10);
        if (*nl != '\n' || n <= 0 || nl + 1 + n > end) {
            fprintf(stderr, "httpload: %s: bad record at byte %ld\n", path, (long)(p - all));
            exit(2);
        }
        if (nreqs == cap)
            reqs = realloc(reqs, sizeof(*reqs) * (size_t)(cap *= 2));
        reqs[nreqs].data = nl + 1;
        reqs[nreqs].len = (size_t)n;
        nreqs++;
        p = nl + 1 + n;
    }
}

/* Case-insensitive header lookup in [head, head_end); returns the value start. */
static const char *header(const char *head, const char *head_end, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    const char *line = memchr(head, '\n', (size_t)(head_end - head));

    while (line && line + 1 < head_end) {
        const char *s = line + 1, *e = memchr(s, '\n', (size_t)(head_end - s));
        if (!e)
            e = head_end;
        if ((size_t)(e - s) > n && !strncasecmp(s, name, n) && s[n] == ':') {
            const char *v = s + n + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(e - v);
            while (*vlen && (v[*vlen - 1] == '\r' || v[*vlen - 1] == ' '))
                (*vlen)--;
            return v;
        }
        line = e < head_end ? e : NULL;
    }
    return NULL;
}

/* Length of a complete chunked body at b (n bytes), or 0 when incomplete. */
static size_t chunked_len(const char *b, size_t n)
{
    size_t pos = 0;
    for (;;) {
        const char *crlf = memmem(b + pos, n - pos, "\r\n", 2);
        unsigned long sz;
        if (!crlf)
            return 0;
        sz = strtoul(b + pos, NULL, 16);
        pos = (size_t)(crlf - b) + 2;
        if (sz == 0) {
            const char *end = memmem(b + pos - 2, n - (pos - 2), "\r\n\r\n", 4);
            return end ? (size_t)(end - b) + 4 : 0;
        }
        if (pos + sz + 2 > n)
            return 0;
        pos += sz + 2;
    }
}

/* 1: a whole response is in c->buf (its bytes in *used, *close set when the
 * server closes after it); 0: need more. */
static int complete(conn *c, size_t *used, int *close_after)
{
    const char *hend = memmem(c->buf, c->have, "\r\n\r\n", 4), *v;
    size_t vlen, body_at, total;

    if (!hend)
        return 0;
    body_at = (size_t)(hend - c->buf) + 4;
    *close_after = 0;
    if ((v = header(c->buf, hend + 2, "Connection", &vlen)) && vlen == 5 &&
        !strncasecmp(v, "close", 5))
        *close_after = 1;
    if ((v = header(c->buf, hend + 2, "Content-Length", &vlen))) {
        total = body_at + strtoul(v, NULL, 10);
    } else if ((v = header(c->buf, hend + 2, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
               !strncasecmp(v, "chunked", 7)) {
        size_t b = chunked_len(c->buf + body_at, c->have - body_at);
        if (!b)
            return 0;
        total = body_at + b;
    } else {
        total = body_at; /* 1xx/204/304 or a body up to close: not expected here */
    }
    if (c->have < total)
        return 0;
    *used = total;
    return 1;
}

static void record(conn *c, size_t used)
{
    const char *hend = memmem(c->buf, c->have, "\r\n\r\n", 4), *v;
    size_t vlen, n = strlen(cookie_name ? cookie_name : "");
    int st = 0;

    if (c->have > 12 && !strncmp(c->buf, "HTTP/1.", 7))
        st = atoi(c->buf + 9);
    status_of[c->req] = st;
    lat_ms[c->req] = (now_s() - c->started) * 1000.0;
    /* Every Set-Cookie line is looked at: the session cookie need not be the first. */
    for (v = c->buf; cookie_name && hend && v < hend;) {
        const char *line = memchr(v, '\n', (size_t)(hend - v));
        if (!line)
            break;
        v = header(line - 1 > c->buf ? line - 1 : c->buf, hend + 2, "Set-Cookie", &vlen);
        if (!v)
            break;
        if (vlen > n && !strncmp(v, cookie_name, n) && v[n] == '=') {
            const char *val = v + n + 1, *semi = memchr(val, ';', vlen - n - 1);
            size_t l = semi ? (size_t)(semi - val) : vlen - n - 1;
            cookie_of[c->req] = strndup(val, l);
            break;
        }
        v += vlen;
    }
    memmove(c->buf, c->buf + used, c->have - used);
    c->have -= used;
    c->req = -1;
    done_reqs++;
}

static void start_next(conn *c)
{
    if (next_req >= nreqs) {
        c->req = -1;
        return;
    }
    c->req = next_req++;
    c->sent = 0;
    c->started = now_s();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, long n, double p)
{
    long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
    return n ? sorted[i < 0 ? 0 : i >= n ? n - 1 : i] : 0.0;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *cookies_out = NULL, *statuses_out = NULL;
    int nconns = 1, expect = 0, opt, i;
    double timeout = 600.0, t0, t1;
    conn conns[MAX_CONNS];
    struct pollfd pfd[MAX_CONNS];
    long counts[600] = {0}, bad = 0;
    double *sorted;

    while ((opt = getopt(argc, argv, "p:f:c:e:k:o:s:t:")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'f':
            file = optarg;
            break;
        case 'c':
            nconns = atoi(optarg);
            break;
        case 'e':
            expect = atoi(optarg);
            break;
        case 'k':
            cookie_name = optarg;
            break;
        case 'o':
            cookies_out = optarg;
            break;
        case 's':
            statuses_out = optarg;
            break;
        case 't':
            timeout = atof(optarg);
            break;
        default:
            fprintf(stderr, "usage: httpload -p PORT -f REQUESTS [-c CONNS] [-e STATUS] "
                            "[-k COOKIE -o OUT] [-s STATUSES_OUT] [-t TIMEOUT_S]\n");
            return 2;
        }
    }
    if (!file || port <= 0 || nconns < 1 || nconns > MAX_CONNS) {
        fprintf(stderr, "httpload: -p PORT and -f REQUESTS are required; 1 <= -c <= %d\n",
                MAX_CONNS);
        return 2;
    }
    load(file);
    if (nconns > nreqs)
        nconns = (int)(nreqs ? nreqs : 1);
    lat_ms = calloc((size_t)nreqs + 1, sizeof(double));
    status_of = calloc((size_t)nreqs + 1, sizeof(int));
    cookie_of = calloc((size_t)nreqs + 1, sizeof(char *));
    for (i = 0; i < nconns; i++) {
        conns[i].fd = open_conn();
        conns[i].buf = malloc(RBUF);
        conns[i].have = 0;
    }
    t0 = now_s();
    for (i = 0; i < nconns; i++)
        start_next(&conns[i]);

    while (done_reqs + errors < nreqs) {
        int active = 0, rc;
        if (now_s() - t0 > timeout) {
            fprintf(stderr, "httpload: timeout after %.0f s\n", timeout);
            break;
        }
        for (i = 0; i < nconns; i++) {
            conn *c = &conns[i];
            pfd[i].fd = c->req >= 0 ? c->fd : -1;
            pfd[i].events = c->req >= 0 ? (c->sent < reqs[c->req].len ? POLLOUT : POLLIN) : 0;
            pfd[i].revents = 0;
            active += c->req >= 0;
        }
        if (!active)
            break;
        rc = poll(pfd, (nfds_t)nconns, 1000);
        if (rc < 0 && errno != EINTR)
            die("poll");
        for (i = 0; i < nconns && rc > 0; i++) {
            conn *c = &conns[i];
            if (!pfd[i].revents || c->req < 0)
                continue;
            if (c->sent < reqs[c->req].len) {
                ssize_t w = write(c->fd, reqs[c->req].data + c->sent, reqs[c->req].len - c->sent);
                if (w > 0)
                    c->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR)
                    goto broken;
                continue;
            }
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->have, RBUF - c->have);
                size_t used;
                int close_after;
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                if (r <= 0)
                    goto broken;
                c->have += (size_t)r;
                if (complete(c, &used, &close_after)) {
                    record(c, used);
                    if (close_after) {
                        close(c->fd);
                        c->fd = open_conn();
                        c->have = 0;
                        reconnects++;
                    }
                    start_next(c);
                    break;
                }
                if (c->have == RBUF) {
                    fprintf(stderr, "httpload: response over %d bytes\n", RBUF);
                    goto broken;
                }
            }
            continue;
        broken:
            /* The request in flight is lost (never resent: it may have been used). */
            errors++;
            status_of[c->req] = -1;
            close(c->fd);
            c->fd = open_conn();
            c->have = 0;
            reconnects++;
            start_next(c);
        }
    }
    t1 = now_s();

    sorted = malloc(sizeof(double) * (size_t)(nreqs + 1));
    {
        long n = 0, k;
        for (k = 0; k < nreqs; k++) {
            if (status_of[k] > 0 && status_of[k] < 600)
                counts[status_of[k]]++;
            if (status_of[k] > 0)
                sorted[n++] = lat_ms[k];
            if (expect && status_of[k] != expect)
                bad++;
        }
        qsort(sorted, (size_t)n, sizeof(double), cmp_double);
        printf("{\"requests\": %ld, \"done\": %ld, \"errors\": %ld, \"unexpected\": %ld, "
               "\"reconnects\": %ld, \"conns\": %d, \"elapsed_s\": %.6f, \"rps\": %.2f, ",
               nreqs, done_reqs, errors, bad, reconnects, nconns, t1 - t0,
               (t1 > t0) ? (double)done_reqs / (t1 - t0) : 0.0);
        printf("\"lat_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
               "\"status\": {",
               pct(sorted, n, 50), pct(sorted, n, 90), pct(sorted, n, 99), n ? sorted[n - 1] : 0.0);
        for (k = 0, i = 0; k < 600; k++)
            if (counts[k])
                printf("%s\"%ld\": %ld", i++ ? ", " : "", k, counts[k]);
        printf("}}\n");
    }
    if (cookies_out) {
        FILE *f = fopen(cookies_out, "w");
        long k;
        if (!f)
            die(cookies_out);
        for (k = 0; k < nreqs; k++)
            fprintf(f, "%s\n", cookie_of[k] ? cookie_of[k] : "");
        fclose(f);
    }
    if (statuses_out) {
        FILE *f = fopen(statuses_out, "w");
        long k;
        if (!f)
            die(statuses_out);
        for (k = 0; k < nreqs; k++)
            fprintf(f, "%d\n", status_of[k]);
        fclose(f);
    }
    for (i = 0; i < nconns; i++)
        close(conns[i].fd);
    return (errors || bad || done_reqs < nreqs) ? 1 : 0;
}
