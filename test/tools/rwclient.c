/*
 * rwclient.c: alloy's own Prometheus remote-write client and load generator.
 *
 * Two jobs, one encoder:
 *  - send mode turns simple text lines (`metric{a="b",...} value [ts_ms]`)
 *    into one remote write 1.0 or 2.0 request, POSTs it and prints the
 *    answer; pointed at a real Prometheus it proves our encoding (and hence
 *    our .proto files) is wire-compatible.
 *  - --bench pre-encodes every request first (node-exporter-like series,
 *    counters and gauges with realistic compressibility), then replays them
 *    over C keep-alive connections in parallel threads and reports samples/s,
 *    so the timing measures the receiver, not the client.
 *
 * Plain sockets and HTTP/1.1; protobuf-c (generated from our .proto files in src/wire/)
 * and libsnappy. Each series is sent by exactly one connection, in time
 * order, so receivers that reject out-of-order samples see none.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <snappy-c.h>

#include "wire/remote.pb-c.h"
#include "wire/write_v2.pb-c.h"

#define STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

typedef struct Label
{
	char	   *name;
	char	   *value;
} Label;

typedef struct Sample
{
	double		value;
	int64_t		t_ms;
} Sample;

typedef struct Series
{
	char	   *key;			/* canonical text of the label set */
	Label	   *labels;
	int			nlabels;
	Sample	   *samples;
	int			nsamples;
	int			cap;
} Series;

typedef struct Buf
{
	char	   *data;
	size_t		len;
} Buf;

/* Options. */
static char host[256] = "127.0.0.1";
static char port[16] = "9201";
static char path[512] = "/api/v1/write";
static int	proto_version = 1;
static const char *tenant = NULL;
static const char *extra_header = NULL;	/* -H "Name: value", e.g. Authorization */
static int	verbose = 0;

static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "rwclient: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char	   *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---------- encoding ---------- */

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const Label *) a)->name, ((const Label *) b)->name);
}

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *) s};

	return b;
}

/* Snappy block-compress a packed protobuf into a fresh buffer. */
static Buf
compress_buf(const uint8_t *raw, size_t len)
{
	Buf			b;

	b.len = snappy_max_compressed_length(len);
	b.data = xmalloc(b.len);
	if (snappy_compress((const char *) raw, len, b.data, &b.len) != SNAPPY_OK)
		die("snappy_compress failed");
	return b;
}

/* One remote write 1.0 request (prometheus.WriteRequest) from series. */
static Buf
encode_v1(Series *series, int nseries)
{
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries *ts = xmalloc(sizeof(*ts) * nseries);
	Prometheus__TimeSeries **tsp = xmalloc(sizeof(*tsp) * nseries);
	size_t		nl = 0,
				ns = 0,
				li = 0,
				si = 0,
				len;
	Prometheus__Label *labs,
			  **labp;
	Prometheus__Sample *smp,
			  **smpp;
	uint8_t    *raw;
	Buf			out;

	for (int i = 0; i < nseries; i++)
	{
		nl += series[i].nlabels;
		ns += series[i].nsamples;
	}
	labs = xmalloc(sizeof(*labs) * nl);
	labp = xmalloc(sizeof(*labp) * nl);
	smp = xmalloc(sizeof(*smp) * ns);
	smpp = xmalloc(sizeof(*smpp) * ns);
	for (int i = 0; i < nseries; i++)
	{
		Series	   *s = &series[i];

		prometheus__time_series__init(&ts[i]);
		tsp[i] = &ts[i];
		ts[i].labels = &labp[li];
		ts[i].n_labels = s->nlabels;
		for (int j = 0; j < s->nlabels; j++, li++)
		{
			prometheus__label__init(&labs[li]);
			labs[li].name = bin(s->labels[j].name);
			labs[li].value = bin(s->labels[j].value);
			labp[li] = &labs[li];
		}
		ts[i].samples = &smpp[si];
		ts[i].n_samples = s->nsamples;
		for (int j = 0; j < s->nsamples; j++, si++)
		{
			prometheus__sample__init(&smp[si]);
			smp[si].value = s->samples[j].value;
			smp[si].timestamp = s->samples[j].t_ms;
			smpp[si] = &smp[si];
		}
	}
	wr.timeseries = tsp;
	wr.n_timeseries = nseries;
	len = prometheus__write_request__get_packed_size(&wr);
	raw = xmalloc(len);
	prometheus__write_request__pack(&wr, raw);
	out = compress_buf(raw, len);
	free(raw);
	free(ts);
	free(tsp);
	free(labs);
	free(labp);
	free(smp);
	free(smpp);
	return out;
}

/* Symbol table for 2.0: linear-probing hash of strings to indexes. */
typedef struct Symtab
{
	ProtobufCBinaryData *syms;
	int			n,
				cap;
	int		   *slots;
	int			nslots;
} Symtab;

static uint32_t
str_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char) *s++) * 16777619u;
	return h;
}

static uint32_t
sym_ref(Symtab *st, const char *s)
{
	uint32_t	h = str_hash(s) & (st->nslots - 1);

	while (st->slots[h] >= 0)
	{
		if (strcmp((const char *) st->syms[st->slots[h]].data, s) == 0)
			return st->slots[h];
		h = (h + 1) & (st->nslots - 1);
	}
	if (st->n == st->cap)
		die("symbol table full");
	st->syms[st->n] = bin(s);
	st->slots[h] = st->n;
	return st->n++;
}

/* One remote write 2.0 request (io.prometheus.write.v2.Request). */
static Buf
encode_v2(Series *series, int nseries)
{
	Io__Prometheus__Write__V2__Request req = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
	Io__Prometheus__Write__V2__TimeSeries *ts = xmalloc(sizeof(*ts) * nseries);
	Io__Prometheus__Write__V2__TimeSeries **tsp = xmalloc(sizeof(*tsp) * nseries);
	size_t		nl = 0,
				ns = 0,
				ri = 0,
				si = 0,
				len;
	uint32_t   *refs;
	Io__Prometheus__Write__V2__Sample *smp,
			  **smpp;
	Symtab		st;
	uint8_t    *raw;
	Buf			out;

	for (int i = 0; i < nseries; i++)
	{
		nl += series[i].nlabels;
		ns += series[i].nsamples;
	}
	st.cap = (int) (2 * nl + 1);
	st.syms = xmalloc(sizeof(*st.syms) * st.cap);
	st.nslots = 16;
	while (st.nslots < 2 * st.cap)
		st.nslots *= 2;
	st.slots = xmalloc(sizeof(int) * st.nslots);
	memset(st.slots, 0xff, sizeof(int) * st.nslots);
	st.n = 0;
	sym_ref(&st, "");
	refs = xmalloc(sizeof(*refs) * 2 * nl + 1);
	smp = xmalloc(sizeof(*smp) * ns);
	smpp = xmalloc(sizeof(*smpp) * ns);
	for (int i = 0; i < nseries; i++)
	{
		Series	   *s = &series[i];

		io__prometheus__write__v2__time_series__init(&ts[i]);
		tsp[i] = &ts[i];
		ts[i].labels_refs = &refs[ri];
		ts[i].n_labels_refs = 2 * s->nlabels;
		for (int j = 0; j < s->nlabels; j++)
		{
			refs[ri++] = sym_ref(&st, s->labels[j].name);
			refs[ri++] = sym_ref(&st, s->labels[j].value);
		}
		ts[i].samples = &smpp[si];
		ts[i].n_samples = s->nsamples;
		for (int j = 0; j < s->nsamples; j++, si++)
		{
			io__prometheus__write__v2__sample__init(&smp[si]);
			smp[si].value = s->samples[j].value;
			smp[si].timestamp = s->samples[j].t_ms;
			smpp[si] = &smp[si];
		}
	}
	req.symbols = st.syms;
	req.n_symbols = st.n;
	req.timeseries = tsp;
	req.n_timeseries = nseries;
	len = io__prometheus__write__v2__request__get_packed_size(&req);
	raw = xmalloc(len);
	io__prometheus__write__v2__request__pack(&req, raw);
	out = compress_buf(raw, len);
	free(raw);
	free(ts);
	free(tsp);
	free(refs);
	free(smp);
	free(smpp);
	free(st.syms);
	free(st.slots);
	return out;
}

static Buf
encode(Series *series, int nseries)
{
	return proto_version == 2 ? encode_v2(series, nseries) : encode_v1(series, nseries);
}

/* ---------- HTTP ---------- */

typedef struct Conn
{
	int			fd;
	char		rbuf[65536];
	size_t		rlen;
	size_t		rpos;
} Conn;

static int
conn_open(Conn *c)
{
	struct addrinfo hints,
			   *res,
			   *ai;
	int			one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	c->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next)
	{
		c->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->rlen = c->rpos = 0;
	return 0;
}

static void
conn_close(Conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0)
	{
		ssize_t		w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Next byte of the response stream, or -1 at EOF/error. */
static int
conn_getc(Conn *c)
{
	if (c->rpos == c->rlen)
	{
		ssize_t		r;

		do
			r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			return -1;
		c->rlen = r;
		c->rpos = 0;
	}
	return (unsigned char) c->rbuf[c->rpos++];
}

static int
conn_line(Conn *c, char *line, size_t cap)
{
	size_t		n = 0;
	int			ch;

	while ((ch = conn_getc(c)) >= 0 && ch != '\n')
		if (n + 1 < cap)
			line[n++] = (char) ch;
	if (ch < 0 && n == 0)
		return -1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (int) n;
}

/*
 * POST one body and read the response; returns the HTTP status (or -1 on a
 * connection error) and, if body_out is given, the response body.
 */
static int
http_post(Conn *c, const Buf *body, char **body_out)
{
	char		hdr[1024],
				line[4096];
	int			n,
				status = -1,
				chunked = 0,
				close_after = 0;
	long		clen = -1;
	char	   *rb = NULL;
	size_t		rblen = 0;

	if (c->fd < 0 && conn_open(c) < 0)
		return -1;
	n = snprintf(hdr, sizeof(hdr),
				 "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: alloy-rwclient/0.1\r\n"
				 "Content-Type: %s\r\nContent-Encoding: snappy\r\n"
				 "X-Prometheus-Remote-Write-Version: %s\r\n%s%s%s%s%s"
				 "Content-Length: %zu\r\n\r\n",
				 path, host, port,
				 proto_version == 2 ? "application/x-protobuf;proto=io.prometheus.write.v2.Request"
				 : "application/x-protobuf",
				 proto_version == 2 ? "2.0.0" : "0.1.0",
				 tenant ? "X-Scope-OrgID: " : "", tenant ? tenant : "", tenant ? "\r\n" : "",
				 extra_header ? extra_header : "", extra_header ? "\r\n" : "",
				 body->len);
	if (write_all(c->fd, hdr, n) < 0 || write_all(c->fd, body->data, body->len) < 0)
	{
		conn_close(c);
		return -1;
	}
	if (conn_line(c, line, sizeof(line)) < 0 || sscanf(line, "HTTP/%*d.%*d %d", &status) != 1)
	{
		conn_close(c);
		return -1;
	}
	while ((n = conn_line(c, line, sizeof(line))) > 0)
	{
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = atol(line + 15);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
			chunked = 1;
		else if (strncasecmp(line, "Connection:", 11) == 0 && strstr(line, "close"))
			close_after = 1;
	}
	if (n < 0)
	{
		conn_close(c);
		return -1;
	}
	if (chunked)
	{
		for (;;)
		{
			long		sz;

			if (conn_line(c, line, sizeof(line)) < 0)
				break;
			sz = strtol(line, NULL, 16);
			if (sz <= 0)
			{
				conn_line(c, line, sizeof(line));
				break;
			}
			rb = xrealloc(rb, rblen + sz + 1);
			for (long i = 0; i < sz; i++)
				rb[rblen++] = (char) conn_getc(c);
			conn_line(c, line, sizeof(line));
		}
	}
	else if (clen > 0)
	{
		rb = xmalloc(clen + 1);
		for (long i = 0; i < clen; i++)
		{
			int			ch = conn_getc(c);

			if (ch < 0)
				break;
			rb[rblen++] = (char) ch;
		}
	}
	else if (clen < 0 && status != 204 && status != 304 && status >= 200)
	{
		int			ch;

		/* no length: the body runs to the end of the connection */
		while ((ch = conn_getc(c)) >= 0)
		{
			rb = xrealloc(rb, rblen + 2);
			rb[rblen++] = (char) ch;
		}
		close_after = 1;
	}
	if (rb)
		rb[rblen] = '\0';
	if (close_after)
		conn_close(c);
	if (body_out)
		*body_out = rb;
	else
		free(rb);
	return status;
}

/* ---------- text input ---------- */

typedef struct SeriesSet
{
	Series	   *s;
	int			n,
				cap;
	int		   *slots;
	int			nslots;
} SeriesSet;

static Series *
series_lookup(SeriesSet *set, const char *key)
{
	uint32_t	h;

	if (set->nslots == 0 || set->n * 2 >= set->nslots)
	{
		int			ns = set->nslots ? set->nslots * 2 : 1024;

		set->slots = xrealloc(set->slots, sizeof(int) * ns);
		memset(set->slots, 0xff, sizeof(int) * ns);
		set->nslots = ns;
		for (int i = 0; i < set->n; i++)
		{
			h = str_hash(set->s[i].key) & (ns - 1);
			while (set->slots[h] >= 0)
				h = (h + 1) & (ns - 1);
			set->slots[h] = i;
		}
	}
	h = str_hash(key) & (set->nslots - 1);
	while (set->slots[h] >= 0)
	{
		if (strcmp(set->s[set->slots[h]].key, key) == 0)
			return &set->s[set->slots[h]];
		h = (h + 1) & (set->nslots - 1);
	}
	if (set->n == set->cap)
	{
		set->cap = set->cap ? set->cap * 2 : 256;
		set->s = xrealloc(set->s, sizeof(Series) * set->cap);
	}
	set->slots[h] = set->n;
	memset(&set->s[set->n], 0, sizeof(Series));
	set->s[set->n].key = strdup(key);
	return &set->s[set->n++];
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Parse `name{l="v",...} value [timestamp_ms]`. Values accept NaN, +Inf,
 * -Inf and "stale" (the stale-marker NaN). Returns 0, or -1 with a message.
 */
static int
parse_line(const char *line, SeriesSet *set, int64_t default_ts, const char **why)
{
	const char *p = skip_ws(line);
	Label		labels[128];
	int			nl = 0;
	char	   *endp;
	double		value;
	int64_t		ts = default_ts;
	Series	   *s;
	size_t		keylen = 0;
	char	   *key;

	if (*p == '\0' || *p == '#')
		return 1;
	if (isalpha((unsigned char) *p) || *p == '_' || *p == ':')
	{
		const char *b = p;

		while (isalnum((unsigned char) *p) || *p == '_' || *p == ':')
			p++;
		labels[nl].name = strdup("__name__");
		labels[nl++].value = xstrndup(b, p - b);
	}
	if (*p == '{')
	{
		p++;
		for (;;)
		{
			const char *b;
			char	   *v;
			size_t		vn = 0;

			p = skip_ws(p);
			if (*p == '}')
			{
				p++;
				break;
			}
			b = p;
			while (isalnum((unsigned char) *p) || *p == '_')
				p++;
			if (p == b || nl >= 128)
				return (*why = "bad label name", -1);
			labels[nl].name = xstrndup(b, p - b);
			p = skip_ws(p);
			if (*p++ != '=')
				return (*why = "expected =", -1);
			p = skip_ws(p);
			if (*p++ != '"')
				return (*why = "expected quoted value", -1);
			v = xmalloc(strlen(p) + 1);
			while (*p && *p != '"')
			{
				if (*p == '\\' && p[1])
				{
					p++;
					v[vn++] = *p == 'n' ? '\n' : *p;
					p++;
				}
				else
					v[vn++] = *p++;
			}
			if (*p++ != '"')
				return (*why = "unterminated value", -1);
			v[vn] = '\0';
			labels[nl++].value = v;
			p = skip_ws(p);
			if (*p == ',')
				p++;
		}
	}
	p = skip_ws(p);
	if (strncasecmp(p, "stale", 5) == 0)
	{
		uint64_t	bits = STALE_NAN_BITS;

		memcpy(&value, &bits, 8);
		endp = (char *) p + 5;
	}
	else
	{
		value = strtod(p, &endp);
		if (endp == p)
			return (*why = "bad value", -1);
	}
	p = skip_ws(endp);
	if (*p && *p != '\n' && *p != '\r')
	{
		ts = strtoll(p, &endp, 10);
		if (endp == p)
			return (*why = "bad timestamp", -1);
	}
	if (nl == 0)
		return (*why = "no labels", -1);
	qsort(labels, nl, sizeof(Label), label_cmp);
	for (int i = 0; i < nl; i++)
		keylen += strlen(labels[i].name) + strlen(labels[i].value) + 2;
	key = xmalloc(keylen + 1);
	key[0] = '\0';
	for (int i = 0; i < nl; i++)
	{
		strcat(key, labels[i].name);
		strcat(key, "\x01");
		strcat(key, labels[i].value);
		strcat(key, "\x02");
	}
	s = series_lookup(set, key);
	free(key);
	if (s->labels == NULL)
	{
		s->labels = xmalloc(sizeof(Label) * nl);
		memcpy(s->labels, labels, sizeof(Label) * nl);
		s->nlabels = nl;
	}
	else
		for (int i = 0; i < nl; i++)
		{
			free(labels[i].name);
			free(labels[i].value);
		}
	if (s->nsamples == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 4;
		s->samples = xrealloc(s->samples, sizeof(Sample) * s->cap);
	}
	s->samples[s->nsamples].value = value;
	s->samples[s->nsamples].t_ms = ts;
	s->nsamples++;
	return 0;
}

static int
send_mode(FILE *in)
{
	SeriesSet	set = {0};
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	int			lineno = 0,
				status;
	int64_t		ts = now_ms();
	Buf			body;
	Conn		c = {.fd = -1};
	char	   *resp = NULL;
	long		nsamples = 0;

	while ((n = getline(&line, &cap, in)) >= 0)
	{
		const char *why = NULL;

		lineno++;
		if (parse_line(line, &set, ts, &why) < 0)
			die("line %d: %s", lineno, why);
	}
	free(line);
	for (int i = 0; i < set.n; i++)
		nsamples += set.s[i].nsamples;
	body = encode(set.s, set.n);
	if (verbose)
		fprintf(stderr, "rwclient: %d series, %ld samples, %zu bytes (remote write %d)\n",
				set.n, nsamples, body.len, proto_version);
	status = http_post(&c, &body, &resp);
	conn_close(&c);
	if (status < 0)
		die("cannot reach %s:%s", host, port);
	printf("%d\n", status);
	if (resp && *resp)
		printf("%s%s", resp, resp[strlen(resp) - 1] == '\n' ? "" : "\n");
	free(resp);
	free(body.data);
	for (int i = 0; i < set.n; i++)
	{
		for (int j = 0; j < set.s[i].nlabels; j++)
		{
			free(set.s[i].labels[j].name);
			free(set.s[i].labels[j].value);
		}
		free(set.s[i].labels);
		free(set.s[i].samples);
		free(set.s[i].key);
	}
	free(set.s);
	free(set.slots);
	if (in != stdin)
		fclose(in);
	return status >= 200 && status < 300 ? 0 : 1;
}

/* ---------- benchmark ---------- */

typedef struct Worker
{
	pthread_t	thread;
	Buf		   *reqs;
	int			nreqs;
	long	   *req_samples;	/* samples in each request */
	long		ok_samples;
	long		ok_reqs;
	long		errors;
	int			first_status;
	char	   *first_error;
} Worker;

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	Conn	   *c = xmalloc(sizeof(Conn));

	c->fd = -1;
	for (int i = 0; i < w->nreqs; i++)
	{
		char	   *resp = NULL;
		int			st = http_post(c, &w->reqs[i], &resp);

		if (st < 0)
			st = http_post(c, &w->reqs[i], &resp);	/* one reconnect */
		if (st >= 200 && st < 300)
		{
			w->ok_reqs++;
			w->ok_samples += w->req_samples[i];
		}
		else
		{
			w->errors++;
			if (w->first_error == NULL)
			{
				w->first_status = st;
				w->first_error = resp ? resp : strdup("(no body)");
				resp = NULL;
			}
		}
		free(resp);
	}
	conn_close(c);
	free(c);
	return NULL;
}

static const char *bench_metrics[] = {
	"node_cpu_seconds_total", "node_network_receive_bytes_total",
	"node_network_transmit_bytes_total", "node_disk_read_bytes_total",
	"node_disk_written_bytes_total", "node_filesystem_avail_bytes",
	"node_filesystem_size_bytes", "node_memory_MemAvailable_bytes",
	"node_load1", "node_context_switches_total"
};

/* Deterministic pseudo-random numbers, so runs are comparable. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
bench_mode(long nseries, long rounds, long per_req, int nconn, long interval_ms)
{
	const int	per_host = 200;
	Series	   *all = xmalloc(sizeof(Series) * nseries);
	double	   *base = xmalloc(sizeof(double) * nseries);
	double	   *rate = xmalloc(sizeof(double) * nseries);
	long		nchunks = (nseries + per_req - 1) / per_req;
	Worker	   *workers = xmalloc(sizeof(Worker) * nconn);
	uint64_t	seed = 88172645463325252ULL;
	int64_t		t0 = now_ms() - rounds * interval_ms;
	double		enc_start = now_sec(),
				start,
				elapsed;
	long		total_bytes = 0,
				ok_samples = 0,
				ok_reqs = 0,
				errors = 0;

	/* node-exporter-like label sets: a host runs per_host series */
	for (long i = 0; i < nseries; i++)
	{
		Series	   *s = &all[i];
		long		hostno = i / per_host,
					k = i % per_host;
		const char *metric = bench_metrics[k % 10];
		char		buf[64];

		s->labels = xmalloc(sizeof(Label) * 8);
		s->nlabels = 0;
#define ADDL(n, v) (s->labels[s->nlabels].name = strdup(n), s->labels[s->nlabels++].value = strdup(v))
		ADDL("__name__", metric);
		snprintf(buf, sizeof(buf), "%ld", k / 10);
		ADDL(strstr(metric, "cpu") ? "cpu" : "device", buf);
		ADDL("datacenter", hostno % 2 ? "eu-west-1" : "us-east-1");
		ADDL("env", "production");
		snprintf(buf, sizeof(buf), "node-%04ld.prod.example.com:9100", hostno);
		ADDL("instance", buf);
		ADDL("job", "node");
		static const char *modes[] = {"idle", "user", "system", "iowait"};

		ADDL("mode", modes[(k / 10) % 4]);
#undef ADDL
		qsort(s->labels, s->nlabels, sizeof(Label), label_cmp);
		s->samples = xmalloc(sizeof(Sample));
		s->nsamples = 1;
		base[i] = (double) (rnd(&seed) % 10000000) / 100.0;
		rate[i] = (double) (rnd(&seed) % 5000) / 100.0;
	}

	/* chunk c of every round goes to connection c % nconn, in round order */
	for (int w = 0; w < nconn; w++)
	{
		memset(&workers[w], 0, sizeof(Worker));
		workers[w].reqs = xmalloc(sizeof(Buf) * (nchunks / nconn + 1) * rounds);
		workers[w].req_samples = xmalloc(sizeof(long) * (nchunks / nconn + 1) * rounds);
	}
	for (long r = 0; r < rounds; r++)
	{
		for (long i = 0; i < nseries; i++)
		{
			const char *m = all[i].labels[0].value;
			int			counter = strstr(m, "_total") != NULL;
			double		v;

			if (counter)
				v = floor((base[i] + rate[i] * r * (interval_ms / 1000.0)) * 100) / 100;
			else
				v = base[i] + (double) (rnd(&seed) % 1000) - 500;
			all[i].samples[0].value = v;
			all[i].samples[0].t_ms = t0 + r * interval_ms + (i % 1000);
		}
		for (long c = 0; c < nchunks; c++)
		{
			long		first = c * per_req;
			long		n = nseries - first < per_req ? nseries - first : per_req;
			Worker	   *w = &workers[c % nconn];

			w->reqs[w->nreqs] = encode(&all[first], (int) n);
			w->req_samples[w->nreqs] = n;
			total_bytes += w->reqs[w->nreqs].len;
			w->nreqs++;
		}
	}
	fprintf(stderr, "rwclient: pre-encoded %ld requests (%ld series x %ld rounds, %ld samples/request, "
			"%.1f bytes/sample on the wire) in %.2f s\n",
			nchunks * rounds, nseries, rounds, per_req,
			(double) total_bytes / (nseries * rounds), now_sec() - enc_start);

	start = now_sec();
	for (int w = 0; w < nconn; w++)
		pthread_create(&workers[w].thread, NULL, worker_main, &workers[w]);
	for (int w = 0; w < nconn; w++)
		pthread_join(workers[w].thread, NULL);
	elapsed = now_sec() - start;

	for (int w = 0; w < nconn; w++)
	{
		ok_samples += workers[w].ok_samples;
		ok_reqs += workers[w].ok_reqs;
		errors += workers[w].errors;
		if (workers[w].first_error)
			fprintf(stderr, "rwclient: connection %d: first error: status %d: %.300s\n", w,
					workers[w].first_status, workers[w].first_error);
	}
	printf("samples/s: %.0f\nsamples: %ld\nrequests: %ld\nerrors: %ld\nseconds: %.3f\nconnections: %d\n",
		   ok_samples / elapsed, ok_samples, ok_reqs, errors, elapsed, nconn);
	return errors == 0 ? 0 : 1;
}

/* ---------- main ---------- */

static void
usage(void)
{
	fprintf(stderr,
			"usage: rwclient [options] [host:port[/path]]\n"
			"  send mode (default): read `metric{a=\"b\"} value [ts_ms]` lines from stdin or --file,\n"
			"     send them as one request, print the HTTP status and body; exit 0 on 2xx\n"
			"  -p, --protocol 1|2        remote write 1.0 (default) or 2.0\n"
			"  -t, --tenant NAME         send X-Scope-OrgID: NAME\n"
			"  -H, --header 'N: V'       send one more header (e.g. Authorization)\n"
			"  -f, --file PATH           read samples from PATH instead of stdin\n"
			"  -v, --verbose\n"
			"  --bench                   load generator; with:\n"
			"     --series N (10000)  --rounds R (10)  --samples-per-request P (500)\n"
			"     --connections C (4)  --interval-ms MS (15000)\n"
			"  default target 127.0.0.1:9201/api/v1/write\n");
	exit(2);
}

static void
parse_target(const char *t)
{
	const char *slash,
			   *colon;

	if (strncmp(t, "http://", 7) == 0)
		t += 7;
	slash = strchr(t, '/');
	colon = strrchr(t, ':');
	if (colon && slash && colon > slash)
		colon = NULL;
	if (colon)
	{
		snprintf(host, sizeof(host), "%.*s", (int) (colon - t), t);
		snprintf(port, sizeof(port), "%.*s",
				 (int) ((slash ? slash : t + strlen(t)) - colon - 1), colon + 1);
	}
	else
		snprintf(host, sizeof(host), "%.*s", (int) ((slash ? slash : t + strlen(t)) - t), t);
	if (slash)
		snprintf(path, sizeof(path), "%s", slash);
}

int
main(int argc, char **argv)
{
	static struct option opts[] = {
		{"protocol", required_argument, NULL, 'p'},
		{"tenant", required_argument, NULL, 't'},
		{"header", required_argument, NULL, 'H'},
		{"file", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"bench", no_argument, NULL, 'B'},
		{"series", required_argument, NULL, 'S'},
		{"rounds", required_argument, NULL, 'R'},
		{"samples-per-request", required_argument, NULL, 'P'},
		{"connections", required_argument, NULL, 'C'},
		{"interval-ms", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			ch,
				bench = 0,
				nconn = 4;
	long		nseries = 10000,
				rounds = 10,
				per_req = 500,
				interval = 15000;
	const char *file = NULL;
	FILE	   *in = stdin;

	while ((ch = getopt_long(argc, argv, "p:t:H:f:vh", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'p':
				proto_version = atoi(optarg);
				if (proto_version != 1 && proto_version != 2)
					usage();
				break;
			case 't':
				tenant = optarg;
				break;
			case 'H':
				extra_header = optarg;
				break;
			case 'f':
				file = optarg;
				break;
			case 'v':
				verbose = 1;
				break;
			case 'B':
				bench = 1;
				break;
			case 'S':
				nseries = atol(optarg);
				break;
			case 'R':
				rounds = atol(optarg);
				break;
			case 'P':
				per_req = atol(optarg);
				break;
			case 'C':
				nconn = atoi(optarg);
				break;
			case 'I':
				interval = atol(optarg);
				break;
			default:
				usage();
		}
	}
	if (optind < argc)
		parse_target(argv[optind++]);
	if (optind < argc || nseries < 1 || rounds < 1 || per_req < 1 || nconn < 1)
		usage();
	if (bench)
		return bench_mode(nseries, rounds, per_req, nconn, interval);
	if (file && (in = fopen(file, "r")) == NULL)
		die("cannot open %s: %s", file, strerror(errno));
	return send_mode(in);
}
