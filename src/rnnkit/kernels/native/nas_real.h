/* contrib's NASCell (no projection) for one real type; sequences.c includes this once per type, after
 * sequences_real.h (whose mm and live it uses), with REAL and SUF defined.
 *
 * a = x kernel (the caller's product of all steps), b = m recurrent_kernel (+ bias), each split in 8 blocks of H:
 *   l0, l1, l2 = sigmoid(a0 + b0), relu(a1 + b1), sigmoid(a2 + b2);  l3 = relu(a3 * b3)
 *   l4, l5, l6, l7 = tanh(a4 + b4), sigmoid(a5 + b5), tanh(a6 + b6), sigmoid(a7 + b7)
 *   c' = tanh(tanh(l0 l1) + c) tanh(l2 + l3);  m' = tanh(c' tanh(tanh(l4 l5) + sigmoid(l6 + l7)))
 * The forward keeps a, b, every c and m; the backward recomputes a step's gates from them (cheaper than storing
 * twelve intermediate [B,H] blocks a step). relu's gradient is taken where its output is positive (l > 0), which
 * is where its input is. */
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define NAME(n) CAT(n, SUF)
#define SIG CAT(sigmoid, SUF)
#define TANH CAT(tanh, SUF)

static inline REAL NAME(relu)(REAL v) { return v > 0 ? v : (v == v ? (REAL)0 : v); } /* NaN passes */

static void NAME(nas_row)(int H, const REAL* restrict a, const REAL* restrict b, const REAL* restrict c,
                          REAL* restrict cn, REAL* restrict mn, REAL* restrict y) {
    for (int k = 0; k < H; k++) {
        REAL l0 = SIG(a[k] + b[k]), l1 = NAME(relu)(a[H + k] + b[H + k]);
        REAL l2 = SIG(a[2 * H + k] + b[2 * H + k]), l3 = NAME(relu)(a[3 * H + k] * b[3 * H + k]);
        REAL l4 = TANH(a[4 * H + k] + b[4 * H + k]), l5 = SIG(a[5 * H + k] + b[5 * H + k]);
        REAL l6 = TANH(a[6 * H + k] + b[6 * H + k]), l7 = SIG(a[7 * H + k] + b[7 * H + k]);
        REAL v = TANH(TANH(l0 * l1) + c[k]) * TANH(l2 + l3);
        REAL m = TANH(v * TANH(TANH(l4 * l5) + SIG(l6 + l7)));
        cn[k] = v, mn[k] = m, y[k] = m;
    }
}

/* as [T,B,8H]: x kernel; rk [H,8H]; bias: NULL or [8H]. cs, ms [T+1,B,H] with row 0 set; writes rows 1..T,
 * bs [T,B,8H] (m recurrent_kernel + bias) and out [T,B,H] (zero where a row has ended). */
void NAME(nas_forward)(int T, int B, int H, const REAL* as, const REAL* rk, const REAL* bias, REAL* cs, REAL* ms,
                       REAL* bs, REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 8 * BH;
    for (int t = 0; t < T; t++) {
        REAL* b = bs + t * BG;
        if (bias)
            for (int r = 0; r < B; r++) memcpy(b + (int64_t)r * 8 * H, bias, sizeof(REAL) * 8 * H);
        NAME(mm)('N', 'N', B, 8 * H, H, ms + t * BH, H, rk, 8 * H, bias ? 1 : 0, b, 8 * H);
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H;
            if (!NAME(live)(lens, t, r)) {
                memcpy(cs + o + BH, cs + o, sizeof(REAL) * H);
                memcpy(ms + o + BH, ms + o, sizeof(REAL) * H);
                memset(out + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(nas_row)(H, as + 8 * o, b + (int64_t)r * 8 * H, cs + o, cs + o + BH, ms + o + BH, out + o);
        }
    }
}

/* One row of the reverse step: dm (in: the gradient of m' from later steps, out: of m), dy (the output's), dc
 * (in: of c', out: of c); writes da [8H] and db [8H], the gradients of a's and b's blocks. */
/* The eight gates of one row, each block through its own restrict pointer (with one pointer and eight offsets
 * the vectoriser cannot rule out overlaps for small H and gives up). */
static void NAME(nas_gates)(int H, const REAL* restrict a, const REAL* restrict b, REAL* restrict l0,
                            REAL* restrict l1, REAL* restrict l2, REAL* restrict l3, REAL* restrict l4,
                            REAL* restrict l5, REAL* restrict l6, REAL* restrict l7) {
    for (int k = 0; k < H; k++) {
        l0[k] = SIG(a[k] + b[k]), l1[k] = NAME(relu)(a[H + k] + b[H + k]);
        l2[k] = SIG(a[2 * H + k] + b[2 * H + k]), l3[k] = NAME(relu)(a[3 * H + k] * b[3 * H + k]);
        l4[k] = TANH(a[4 * H + k] + b[4 * H + k]), l5[k] = SIG(a[5 * H + k] + b[5 * H + k]);
        l6[k] = TANH(a[6 * H + k] + b[6 * H + k]), l7[k] = SIG(a[7 * H + k] + b[7 * H + k]);
    }
}

/* The gates' gradients in place of the gates g0..g7 (as nas_gates' blocks), from c, c', m', dm (the gradient of
 * m' from later steps), dy (the output's) and dc (in: of c', out: of c). */
static void NAME(nas_grads)(int H, const REAL* restrict c, const REAL* restrict cn, const REAL* restrict mn,
                            const REAL* restrict dy, const REAL* restrict dm, REAL* restrict dc,
                            REAL* restrict g0, REAL* restrict g1, REAL* restrict g2, REAL* restrict g3,
                            REAL* restrict g4, REAL* restrict g5, REAL* restrict g6, REAL* restrict g7) {
    for (int k = 0; k < H; k++) {
        REAL l0 = g0[k], l1 = g1[k], l2 = g2[k], l3 = g3[k], l4 = g4[k], l5 = g5[k], l6 = g6[k], l7 = g7[k];
        REAL p = TANH(l0 * l1), q = TANH(l2 + l3), u = TANH(p + c[k]);
        REAL r = TANH(l4 * l5), s = SIG(l6 + l7), v = TANH(r + s), m = mn[k];
        REAL dmp = (dm[k] + dy[k]) * ((REAL)1 - m * m);
        REAL dcc = dc[k] + dmp * v;
        REAL dvp = dmp * cn[k] * ((REAL)1 - v * v);
        REAL d45 = dvp * ((REAL)1 - r * r), d67 = dvp * s * ((REAL)1 - s);
        REAL dup = dcc * q * ((REAL)1 - u * u), dqp = dcc * u * ((REAL)1 - q * q);
        REAL d01 = dup * ((REAL)1 - p * p);
        g0[k] = d01 * l1 * l0 * ((REAL)1 - l0), g1[k] = l1 > 0 ? d01 * l0 : (REAL)0;
        g2[k] = dqp * l2 * ((REAL)1 - l2), g3[k] = l3 > 0 ? dqp : (REAL)0;
        g4[k] = d45 * l5 * ((REAL)1 - l4 * l4), g5[k] = d45 * l4 * l5 * ((REAL)1 - l5);
        g6[k] = d67 * ((REAL)1 - l6 * l6), g7[k] = d67 * l7 * ((REAL)1 - l7);
        dc[k] = dup;
    }
}

/* One row of the reverse step: the gates recomputed into da, their gradients over them, then da and db, the
 * gradients of a's and b's blocks (equal but for block 3, a product). */
static void NAME(nas_back_row)(int H, const REAL* a, const REAL* b, const REAL* c, const REAL* cn, const REAL* mn,
                               const REAL* dy, const REAL* dm, REAL* dc, REAL* da, REAL* db) {
    NAME(nas_gates)(H, a, b, da, da + H, da + 2 * H, da + 3 * H, da + 4 * H, da + 5 * H, da + 6 * H, da + 7 * H);
    NAME(nas_grads)(H, c, cn, mn, dy, dm, dc, da, da + H, da + 2 * H, da + 3 * H, da + 4 * H, da + 5 * H,
                    da + 6 * H, da + 7 * H);
    memcpy(db, da, sizeof(REAL) * 8 * H);
    for (int k = 0; k < H; k++) {
        REAL g3 = da[3 * H + k];
        da[3 * H + k] = g3 * b[3 * H + k], db[3 * H + k] = g3 * a[3 * H + k];
    }
}

/* dys [T,B,H]; dm, dc [B,H]: in, the final state's gradients, out, the initial state's; rkt [8H,H]: the recurrent
 * kernel transposed. Writes das, dbs [T,B,8H] (the gradients of a and b); adds b's row sums to dbias [8H] (when
 * not NULL). scratch: B H. */
void NAME(nas_backward)(int T, int B, int H, const REAL* rkt, const REAL* as, const REAL* bs, const REAL* cs,
                        const REAL* ms, const REAL* dys, REAL* dm, REAL* dc, REAL* das, REAL* dbs, REAL* dbias,
                        REAL* scratch, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 8 * BH;
    REAL* dmp = scratch;
    for (int t = T - 1; t >= 0; t--) {
        REAL* db = dbs + t * BG;
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H, q = (int64_t)r * H;
            if (!NAME(live)(lens, t, r)) {
                memcpy(dmp + q, dm + q, sizeof(REAL) * H);
                memset(das + 8 * o, 0, sizeof(REAL) * 8 * H);
                memset(db + 8 * q, 0, sizeof(REAL) * 8 * H);
                continue;
            }
            memset(dmp + q, 0, sizeof(REAL) * H);
            NAME(nas_back_row)(H, as + 8 * o, bs + 8 * o, cs + o, cs + o + BH, ms + o + BH, dys + o, dm + q, dc + q,
                               das + 8 * o, db + 8 * q);
            if (dbias)
                for (int k = 0; k < 8 * H; k++) dbias[k] += db[8 * q + k];
        }
        NAME(mm)('N', 'N', B, H, 8 * H, db, 8 * H, rkt, H, 1, dmp, H);
        memcpy(dm, dmp, sizeof(REAL) * BH);
    }
}

#undef SIG
#undef TANH
#undef NAME
#undef CAT
#undef CAT2
