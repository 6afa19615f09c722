/* Token line and skeleton line of a text in one C pass: the matcher's hot path.
 *
 * This is an accelerator only. Every table comes from Python (monitor/match/fastlines.py builds
 * them from the same definitions the pure-Python path uses) and tests/match/test_fastlines.py
 * checks that both paths give the same lines. Text the tables cannot handle (a character that
 * expands or composes, another script) is refused with None and takes the Python path.
 *
 *   configure(cp_map, kinds, line_decode, sk_class, waw, waw_class, sk_decode)
 *   lines(text, token_filter, skeleton_filter)
 *       -> None | () | (line, line_index, skeleton_line or None, skeleton_index, token_offsets)
 *   fnv1a(data) -> int
 *
 * The filters are Bloom filters (bytes, a power of two long, one FNV-1a hash) of the tokens and
 * of the token skeletons that the rule set's keys contain; None means no filter for the token
 * line, no skeleton line at all for the skeletons. A token outside its filter cannot be part of
 * any match: a run of such tokens is written as one placeholder character, which keeps matches
 * from spanning it and makes the automaton's lines a fraction as long. line_index and
 * skeleton_index (native int32) give the token index of each item that is spelled out, in order.
 *
 * token_offsets: native int32 pairs, the original [start, end) of each token, its combining
 * marks included (what monitor.normalize.Normalized.to_original gives for the token).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define CP_DELETE 0x100      /* dropped (tatweel, format characters) */
#define CP_MARK 0x101        /* dropped, and a combining mark: part of the previous letter */
#define CP_REFUSE 0xFFFF
#define PLACEHOLDER 0x04   /* a control character: never in a key */

static uint16_t cp_map[65536];
static uint8_t kinds[256];       /* 0 separator, 1 letter, 2 digit */
static Py_UCS4 line_decode[256];
static uint8_t sk_class[256];    /* 0: dropped from the skeleton (a vowel) */
static Py_UCS4 sk_decode[256];
static uint8_t waw, waw_class;
static int configured = 0;

typedef struct {
    const uint8_t *bits;   /* NULL: no filter */
    uint32_t mask;         /* number of bits - 1 */
} Bloom;

static uint32_t
fnv1a(const uint8_t *p, Py_ssize_t n)
{
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static inline int
in_bloom(const Bloom *b, const uint8_t *p, Py_ssize_t n)
{
    uint32_t h = fnv1a(p, n) & b->mask;
    return (b->bits[h >> 3] >> (h & 7)) & 1;
}

static int
read_bloom(PyObject *obj, Bloom *b, const char *name)
{
    b->bits = NULL;
    if (obj == Py_None)
        return 0;
    Py_ssize_t n = PyBytes_Check(obj) ? PyBytes_GET_SIZE(obj) : 0;
    if (n < 1 || n > (1 << 28) || (n & (n - 1))) {
        PyErr_Format(PyExc_ValueError, "%s must be None or bytes of a power-of-two length", name);
        return -1;
    }
    b->bits = (const uint8_t *)PyBytes_AS_STRING(obj);
    b->mask = (uint32_t)(n * 8 - 1);
    return 0;
}

static int
read_decode(PyObject *s, Py_UCS4 *out, const char *name)
{
    if (!PyUnicode_Check(s) || PyUnicode_GET_LENGTH(s) != 256) {
        PyErr_Format(PyExc_ValueError, "%s must be a str of 256 characters", name);
        return -1;
    }
    for (int i = 0; i < 256; i++)
        out[i] = PyUnicode_READ_CHAR(s, i);
    return 0;
}

static PyObject *
configure(PyObject *self, PyObject *args)
{
    Py_buffer cp, kd, skc;
    PyObject *ld, *skd;
    int w, wc;
    if (!PyArg_ParseTuple(args, "y*y*Uy*iiU", &cp, &kd, &ld, &skc, &w, &wc, &skd))
        return NULL;
    PyObject *result = NULL;
    if (cp.len != (Py_ssize_t)sizeof(cp_map) || kd.len != 256 || skc.len != 256) {
        PyErr_SetString(PyExc_ValueError, "cp_map must be 65536 uint16, kinds and sk_class 256 bytes");
        goto done;
    }
    if (read_decode(ld, line_decode, "line_decode") < 0 || read_decode(skd, sk_decode, "sk_decode") < 0)
        goto done;
    memcpy(cp_map, cp.buf, sizeof(cp_map));
    memcpy(kinds, kd.buf, 256);
    memcpy(sk_class, skc.buf, 256);
    waw = (uint8_t)w;
    waw_class = (uint8_t)wc;
    configured = 1;
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&cp);
    PyBuffer_Release(&kd);
    PyBuffer_Release(&skc);
    return result;
}

/* The skeleton bytes of one token into `out` (vowels dropped, classes, repeats squeezed). */
static Py_ssize_t
skeleton(const uint8_t *tok, Py_ssize_t n, uint8_t *out)
{
    Py_ssize_t k = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        uint8_t c = (j == 0 && tok[0] == waw) ? waw_class : sk_class[tok[j]];
        if (c == 0 || (k > 0 && out[k - 1] == c))
            continue;
        out[k++] = c;
    }
    return k;
}

typedef struct {
    Py_UCS2 *line;     /* token line (cp1256 decodes into the BMP) */
    uint8_t *sk;       /* skeleton line as skeleton bytes, NULL when not asked for */
    Py_ssize_t nl, ns;
    uint8_t *tok;      /* the normalised bytes of every token, one after the other */
    uint8_t *tmp;      /* the skeleton of one token */
    int32_t *offs;     /* original [start, end) of every token */
    Py_ssize_t no;
    int32_t *lidx, *sidx;  /* token index of each item spelled out in the line, the skeletons */
    Py_ssize_t cap;    /* tokens the three arrays above have room for (they grow) */
    Py_ssize_t nli, nsi;
    int lph, sph;      /* the last item of the line, of the skeleton line, is a placeholder */
    Bloom tokens, skeletons;
} Out;

static void
skeleton_token(Out *o, const uint8_t *tok, Py_ssize_t n, int32_t index)
{
    Py_ssize_t k = skeleton(tok, n, o->tmp);
    /* A skeleton no variant key contains cannot take part in a match. */
    if (k == 0 || !in_bloom(&o->skeletons, o->tmp, k)) {
        if (!o->sph) {
            o->sk[o->ns++] = ' ';
            o->sk[o->ns++] = PLACEHOLDER;
            o->sph = 1;
        }
        return;
    }
    o->sk[o->ns++] = ' ';
    memcpy(o->sk + o->ns, o->tmp, k);
    o->ns += k;
    o->sidx[o->nsi++] = index;
    o->sph = 0;
}

/* Room for twice as many tokens in the offsets and both indexes. */
static int
grow(Out *o)
{
    Py_ssize_t cap = 2 * o->cap;
    int32_t *offs = PyMem_Realloc(o->offs, sizeof(int32_t) * 2 * cap);
    if (offs == NULL)
        return -1;
    o->offs = offs;
    int32_t *lidx = PyMem_Realloc(o->lidx, sizeof(int32_t) * cap);
    if (lidx == NULL)
        return -1;
    o->lidx = lidx;
    int32_t *sidx = PyMem_Realloc(o->sidx, sizeof(int32_t) * cap);
    if (sidx == NULL)
        return -1;
    o->sidx = sidx;
    o->cap = cap;
    return 0;
}

/* A token ends: its original end and its skeleton. A token no key contains cannot be part of a
   match: it becomes a placeholder, and a run of them one placeholder, because the automaton
   pays for every character (and for a placeholder after a space more than for a letter). */
#define END_TOKEN()                                                             \
    {                                                                           \
        offs[no++] = (int32_t)end;                                              \
        int32_t index = (int32_t)(no / 2 - 1);                                  \
        if (o->sk)                                                              \
            skeleton_token(o, tok + tstart, nb - tstart, index);                \
        if (o->tokens.bits && !in_bloom(&o->tokens, tok + tstart, nb - tstart)) { \
            if (o->lph) {                                                       \
                nl = lstart - 1;                                                \
            } else {                                                            \
                nl = lstart;                                                    \
                line[nl++] = PLACEHOLDER;                                       \
                o->lph = 1;                                                     \
            }                                                                   \
        } else {                                                                \
            o->lidx[o->nli++] = index;                                          \
            o->lph = 0;                                                         \
        }                                                                       \
    }

/* One pass: map every character through cp_map, split letter and digit runs into tokens and
   write the token line (and skeletons) as it goes. Returns 0, or -1 when the text is refused.
   The hot state lives in locals: stores through uint8_t pointers may alias anything, so fields
   of `o` would be reloaded after every byte written. */
#define SCAN(TYPE)                                                              \
    {                                                                           \
        const TYPE *d = (const TYPE *)data;                                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                    \
            Py_UCS4 c = d[i];                                                   \
            if (sizeof(TYPE) == 4 && c > 0xFFFF)                                \
                return -1;                                                      \
            uint16_t v = cp_map[c];                                             \
            if (v >= CP_DELETE) {                                               \
                if (v == CP_REFUSE)                                             \
                    return -1;                                                  \
                if (v == CP_MARK && run && i == end)                            \
                    end = i + 1; /* a highlight keeps the letter's marks */     \
                continue;                                                       \
            }                                                                   \
            uint8_t k = kinds[v];                                               \
            if (k != run) {                                                     \
                if (run)                                                        \
                    END_TOKEN()                                                 \
                if (k) {                                                        \
                    if (no / 2 >= o->cap) {                                     \
                        if (grow(o) < 0)                                        \
                            return -2;                                          \
                        offs = o->offs;                                         \
                    }                                                           \
                    line[nl++] = ' ';                                           \
                    lstart = nl;                                                \
                    tstart = nb;                                                \
                    offs[no++] = (int32_t)i;                                    \
                }                                                               \
                run = k;                                                        \
            }                                                                   \
            if (k) {                                                            \
                line[nl++] = (Py_UCS2)line_decode[v];                           \
                tok[nb++] = (uint8_t)v;                                         \
                end = i + 1;                                                    \
            }                                                                   \
        }                                                                       \
    }

static int
scan(PyObject *text, Out *o)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS2 *line = o->line;
    uint8_t *tok = o->tok;
    int32_t *offs = o->offs;
    Py_ssize_t nl = 0, nb = 0, no = 0, tstart = 0, lstart = 0, end = 0;
    uint8_t run = 0;
    /* -1: refused (the Python path takes the text); -2: out of memory */
    if (kind == PyUnicode_1BYTE_KIND)
        SCAN(Py_UCS1)
    else if (kind == PyUnicode_2BYTE_KIND)
        SCAN(Py_UCS2)
    else
        SCAN(Py_UCS4)
    if (run)
        END_TOKEN()
    o->nl = nl;
    o->no = no;
    return 0;
}

static PyObject *
int32_bytes(const int32_t *values, Py_ssize_t n)
{
    return PyBytes_FromStringAndSize((const char *)values, (Py_ssize_t)sizeof(int32_t) * n);
}

/* The skeleton line as a str: skeleton bytes through sk_decode, separators as they are. */
static PyObject *
skeleton_line(Out *o)
{
    Py_UCS4 *buf = PyMem_Malloc(sizeof(Py_UCS4) * (o->ns + 1));
    if (buf == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < o->ns; i++) {
        uint8_t b = o->sk[i];
        buf[i] = (b == ' ' || b == PLACEHOLDER) ? b : sk_decode[b];
    }
    PyObject *str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, o->ns);
    PyMem_Free(buf);
    return str;
}

static PyObject *
result(Out *o)
{
    if (o->no == 0)
        return PyTuple_New(0);
    o->line[o->nl++] = ' ';
    PyObject *line = PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, o->line, o->nl);
    PyObject *sk = NULL, *sidx = NULL;
    if (o->sk != NULL && o->nsi) {
        o->sk[o->ns++] = ' ';
        sk = skeleton_line(o);
        sidx = int32_bytes(o->sidx, o->nsi);
    } else {
        sk = Py_NewRef(Py_None);
        sidx = Py_NewRef(Py_None);
    }
    PyObject *lidx = int32_bytes(o->lidx, o->nli);
    PyObject *offs = int32_bytes(o->offs, o->no);
    if (line == NULL || sk == NULL || sidx == NULL || lidx == NULL || offs == NULL) {
        Py_XDECREF(line);
        Py_XDECREF(sk);
        Py_XDECREF(sidx);
        Py_XDECREF(lidx);
        Py_XDECREF(offs);
        return NULL;
    }
    return Py_BuildValue("(NNNNN)", line, lidx, sk, sidx, offs);
}

static PyObject *
lines(PyObject *self, PyObject *args)
{
    PyObject *text, *tok_obj, *sk_obj;
    if (!PyArg_ParseTuple(args, "UOO", &text, &tok_obj, &sk_obj))
        return NULL;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() has not been called");
        return NULL;
    }
    Bloom tokens, skeletons;
    if (read_bloom(tok_obj, &tokens, "token_filter") < 0
            || read_bloom(sk_obj, &skeletons, "skeleton_filter") < 0)
        return NULL;
    int with_sk = skeletons.bits != NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > INT32_MAX)
        return Py_NewRef(Py_None);   /* offsets would not fit: the Python path takes it */
    /* Worst case for the lines: every character a token (a space before each, one after all).
       The per-token arrays start at a typical size and grow. */
    Py_ssize_t cap = n / 4 + 16;
    Py_UCS2 *line = PyMem_Malloc(sizeof(Py_UCS2) * (2 * n + 2));
    uint8_t *tok = PyMem_Malloc(2 * n + 2);
    uint8_t *sk = with_sk ? PyMem_Malloc(2 * n + 2) : NULL;
    Out o = {line, sk, 0, 0, tok, tok + n + 1, PyMem_Malloc(sizeof(int32_t) * 2 * cap), 0,
             PyMem_Malloc(sizeof(int32_t) * cap), PyMem_Malloc(sizeof(int32_t) * cap), cap,
             0, 0, 0, 0, tokens, skeletons};
    PyObject *res = NULL;
    if (line == NULL || tok == NULL || (with_sk && sk == NULL) || o.offs == NULL
            || o.lidx == NULL || o.sidx == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int got = scan(text, &o);
    if (got == -2)
        PyErr_NoMemory();
    else
        res = got == -1 ? Py_NewRef(Py_None) : result(&o);
done:
    PyMem_Free(line);
    PyMem_Free(tok);
    PyMem_Free(sk);
    PyMem_Free(o.offs);
    PyMem_Free(o.lidx);
    PyMem_Free(o.sidx);
    return res;
}

static PyObject *
hash(PyObject *self, PyObject *args)
{
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b))
        return NULL;
    uint32_t h = fnv1a(b.buf, b.len);
    PyBuffer_Release(&b);
    return PyLong_FromUnsignedLong(h);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Load the tables (see monitor.match.fastlines)."},
    {"lines", lines, METH_VARARGS,
     "lines(text, token_filter, skeleton_filter) -> None (refused) | () (no token) | "
     "(line, line index, skeleton line or None, skeleton index, offsets)"},
    {"fnv1a", hash, METH_VARARGS, "The 32-bit FNV-1a hash the filters use."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lines", "Token and skeleton lines in C (an accelerator).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__lines(void)
{
    return PyModule_Create(&module);
}
