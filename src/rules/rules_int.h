/*
 * rules_int.h: the template engine of alerting-rule labels and annotations,
 * private to src/rules/ and its tests.
 *
 * Prometheus expands rule labels and annotations with Go's text/template plus
 * its own function library.  We parse a template once, when the rule file is
 * loaded, into a tree in an AlloyArena; everything this engine does not
 * support (a construct or a function name) is refused then, with a one-line
 * message, so a loaded rule never meets "unsupported" at evaluation time.
 * Execution may still fail the way Prometheus's does (humanize of a string
 * that is no number, first of an empty vector, a bad regex), and the caller
 * then shows the error as Prometheus does.
 *
 * Plain C, no PostgreSQL calls: memory from the arena, errors as strings.
 *
 * Work bounds (constants, no settings): an expansion writes at most
 * RULES_TMPL_MAX_OUTPUT bytes and performs at most RULES_TMPL_MAX_STEPS
 * evaluation steps (each action, pipeline command and range iteration is a
 * step); past either it stops with an error.  Parsing refuses nesting deeper
 * than RULES_TMPL_MAX_DEPTH.
 */
#ifndef ALLOY_RULES_RULES_INT_H
#define ALLOY_RULES_RULES_INT_H

#include "base/base.h"

#define RULES_TMPL_MAX_OUTPUT	(1024 * 1024)
#define RULES_TMPL_MAX_STEPS	1000000
#define RULES_TMPL_MAX_DEPTH	64

/* ---- values ---- */

typedef enum TmplKind
{
	TV_NIL,						/* Go's invalid/nil value */
	TV_BOOL,
	TV_INT,						/* Go int (integer constants, len, ...) */
	TV_FLOAT,					/* float64 */
	TV_STRING,
	TV_MAP,						/* map[string]... with sorted keys */
	TV_VECTOR,					/* a query result: []*sample */
	TV_SAMPLE,					/* *sample: .Labels and .Value */
	TV_DATA						/* the root: .Labels .ExternalLabels .ExternalURL .Value */
} TmplKind;

typedef struct TmplValue TmplValue;
typedef struct TmplMap TmplMap;
typedef struct TmplSample TmplSample;
typedef struct TmplVector TmplVector;

struct TmplValue
{
	TmplKind	kind;
	bool		b;
	int64_t		i;
	double		f;
	const char *s;				/* TV_STRING, NUL-terminated */
	size_t		slen;
	const TmplMap *map;
	const TmplVector *vec;
	const TmplSample *smp;
	bool		string_map;		/* TV_MAP: map[string]string (labels), else of interface{} */
};

struct TmplMap
{
	int			n;
	const char **keys;			/* sorted bytewise */
	TmplValue  *vals;
};

struct TmplSample
{
	TmplMap		labels;
	double		value;
};

struct TmplVector
{
	int			n;
	TmplSample *s;
};

/* ---- the caller's data ---- */

/*
 * The template data of one alert: the labels of the sample that fired, the
 * external labels and URL, and its value.  Label arrays need not be sorted.
 */
typedef struct RulesTemplateData
{
	const AlloyLabel *labels;
	int			nlabels;
	const AlloyLabel *external_labels;
	int			nexternal;
	const char *external_url;	/* may be NULL: "" */
	double		value;
} RulesTemplateData;

/*
 * `query "expr"`: run PromQL at the rule's evaluation time and return an
 * instant vector (scalars as one sample with no labels), its samples built
 * in arena.  On error return false with a message in err.
 */
typedef bool (*RulesTemplateQueryFn) (void *arg, AlloyArena *arena, const char *expr,
									  TmplVector *out, char *err, size_t errlen);

typedef struct RulesTemplateQuery
{
	RulesTemplateQueryFn fn;	/* NULL: query fails with an error */
	void	   *arg;
} RulesTemplateQuery;

typedef struct RulesTemplate RulesTemplate;

/*
 * Parse text (len bytes) with Prometheus's alerting preamble ($labels,
 * $externalLabels, $externalURL, $value).  NULL and a message in err on a
 * syntax error or anything unsupported.
 */
extern RulesTemplate *rules_template_parse(AlloyArena *arena, const char *text, size_t len,
										   char *err, size_t errlen);

/*
 * Expand tmpl over data into *out (NUL-terminated, in arena).  False and a
 * message in err when execution fails or exceeds the work bounds.
 */
extern bool rules_template_expand(AlloyArena *arena, const RulesTemplate *tmpl,
								  const RulesTemplateData *data,
								  const RulesTemplateQuery *query,
								  char **out, char *err, size_t errlen);

/* ---- inside the engine ---- */

typedef enum TmplTok
{
	TT_EOF, TT_TEXT, TT_LEFT, TT_RIGHT, TT_IDENT, TT_FIELD, TT_VAR,
	TT_STRING, TT_NUMBER, TT_PIPE, TT_LPAREN, TT_RPAREN, TT_DECLARE,
	TT_ASSIGN, TT_COMMA, TT_DOT, TT_BOOL, TT_NIL, TT_COMMENT, TT_ERROR
} TmplTok;

typedef struct TmplToken
{
	TmplTok		type;
	const char *p;				/* into the source, or unquoted text for TT_STRING */
	size_t		len;
	int			line;
} TmplToken;

typedef struct TmplLexer
{
	AlloyArena *arena;
	const char *src;
	size_t		len;
	size_t		pos;
	bool		in_action;
	int			line;
	int			paren;
	char	   *err;
	size_t		errlen;
} TmplLexer;

extern void tmpl_lex_init(TmplLexer *lx, AlloyArena *arena, const char *src, size_t len,
						  char *err, size_t errlen);
extern TmplToken tmpl_lex_next(TmplLexer *lx);

typedef enum TmplNodeType
{
	TN_LIST, TN_TEXT, TN_ACTION, TN_IF, TN_RANGE, TN_WITH,
	TN_PIPE, TN_CMD,
	/* operands */
	TN_FUNC, TN_VAR, TN_FIELD, TN_DOT, TN_STRING, TN_NUMBER, TN_BOOL, TN_NIL,
	TN_CHAIN					/* (pipeline).Field.Field */
} TmplNodeType;

typedef struct TmplNode TmplNode;

struct TmplNode
{
	TmplNodeType type;
	int			line;
	/* TN_TEXT/TN_STRING: text; TN_FUNC: name; TN_VAR: name ("$x") */
	const char *text;
	size_t		len;
	/* field names: TN_FIELD (.a.b), TN_VAR ($x.a.b), TN_CHAIN */
	const char **fields;
	int			nfields;
	/* TN_LIST / TN_CMD / TN_PIPE children */
	TmplNode  **kids;
	int			nkids;
	/* TN_PIPE: declared or assigned variables (1 or 2) */
	const char *vars[2];
	int			nvars;
	bool		declare;		/* := rather than = */
	/* TN_IF/RANGE/WITH: pipe, list, else-list; TN_CHAIN: the operand in pipe */
	TmplNode   *pipe;
	TmplNode   *list;
	TmplNode   *elselist;
	/* TN_NUMBER */
	bool		is_float;
	int64_t		ival;
	double		fval;
	bool		bval;
	int			func;			/* TN_FUNC: index into tmpl_funcs */
};

struct RulesTemplate
{
	TmplNode   *root;
};

/* Function table (tmpl_funcs.c). */
typedef struct TmplExec TmplExec;
typedef bool (*TmplFn) (TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);

typedef struct TmplFuncDef
{
	const char *name;
	TmplFn		fn;				/* NULL: and/or, evaluated lazily by the executor */
	int			minargs;
	int			maxargs;		/* -1: variadic */
} TmplFuncDef;

/* Prometheus's template functions (tmpl_promfuncs.c, tmpl_strfuncs.c, tmpl_linkfuncs.c). */
extern bool tmpl_fn_query(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_first(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_label(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_value(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_strvalue(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_sort_by_label(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_args(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_humanize(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_humanize1024(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_humanize_duration(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_humanize_percentage(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_humanize_timestamp(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_title(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_to_upper(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_to_lower(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_match(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_re_replace_all(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_safe_html(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_strip_port(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);

extern bool tmpl_fn_graph_link(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_table_link(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_external_url(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_path_prefix(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_strip_domain(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_parse_duration(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_fn_to_time(TmplExec *ex, int argc, const TmplValue *argv, TmplValue *res);
extern bool tmpl_time_string(TmplExec *ex, const char *fn, double v, TmplValue *res);

extern int	tmpl_func_lookup(const char *name, size_t len);
extern const TmplFuncDef *tmpl_func(int i);

/* Executor state shared with the functions. */
struct TmplExec
{
	AlloyArena *arena;
	const RulesTemplateQuery *query;
	const char *external_url;	/* NULL when the caller has none */
	char	   *err;
	size_t		errlen;
	bool		failed;
	long		steps;
};

extern bool tmpl_error(TmplExec *ex, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Values (tmpl_value.c). */
extern bool tmpl_truth(const TmplValue *v);
extern const char *tmpl_type_name(const TmplValue *v);
extern TmplValue tmpl_string(AlloyArena *a, const char *s, size_t len);
extern TmplValue tmpl_float(double f);
extern TmplValue tmpl_int(int64_t i);
extern TmplValue tmpl_bool(bool b);
extern void tmpl_map_from_labels(AlloyArena *a, TmplMap *m, const AlloyLabel *l, int n);
extern const TmplValue *tmpl_map_get(const TmplMap *m, const char *key, size_t len);
extern bool tmpl_field(TmplExec *ex, const TmplValue *recv, const char *name, TmplValue *res);
extern bool tmpl_to_float(TmplExec *ex, const TmplValue *v, double *f);
extern bool tmpl_want_string(TmplExec *ex, const TmplValue *v);

/* Text buffer and formatting (tmpl_fmt.c, tmpl_printf.c). */
typedef struct TmplBuf
{
	AlloyArena *arena;
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		overflow;		/* past RULES_TMPL_MAX_OUTPUT */
} TmplBuf;

extern void tmpl_buf_init(TmplBuf *b, AlloyArena *a);
extern void tmpl_buf_put(TmplBuf *b, const char *s, size_t len);
extern void tmpl_buf_puts(TmplBuf *b, const char *s);
extern void tmpl_buf_printf(TmplBuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void tmpl_fmt_float_g(TmplBuf *b, double f, int prec);
extern bool tmpl_fmt_special(TmplBuf *b, double f, bool plus);
extern void tmpl_fmt_v(TmplBuf *b, const TmplValue *v);
extern void tmpl_fmt_value(TmplBuf *b, const TmplValue *v);
extern void tmpl_sprintf(TmplBuf *b, const char *fmt, size_t fmtlen, int argc, const TmplValue *argv);
extern void tmpl_sprint(TmplBuf *b, int argc, const TmplValue *argv, bool ln);

/* toUpper/toLower/title mapping, mode 0 title, 1 upper, 2 lower (tmpl_case.c). */
extern void tmpl_map_case(TmplBuf *b, const char *s, size_t len, int mode);
extern size_t tmpl_utf8_put(char *out, int32_t r);

/* Unanchored regex search for match and reReplaceAll (tmpl_regex.c). */
typedef struct TmplRegex
{
	struct pcre2_real_code_8 *code;
	struct pcre2_real_match_data_8 *md;
} TmplRegex;

extern TmplRegex *tmpl_regex_compile(AlloyArena *arena, const char *pat, size_t len,
									 char *err, size_t errlen);
extern void tmpl_regex_free(TmplRegex *rx);
extern int	tmpl_regex_search(TmplRegex *rx, const char *s, size_t len, size_t start,
							  size_t *ovec, int maxpairs);
extern int	tmpl_regex_group(TmplRegex *rx, const char *name);

#endif							/* ALLOY_RULES_RULES_INT_H */
