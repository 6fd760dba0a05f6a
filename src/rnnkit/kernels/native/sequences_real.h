/* The kernels for one real type; sequences.c includes this once per type with REAL (float or double) and SUF
 * (f32 or f64) defined. Names: <name>_<SUF>. Shapes in the comments: T steps, B rows, H units. */

typedef void (*NAME(gemm_fn))(const char*, const char*, const int*, const int*, const int*, const REAL*,
                               const REAL*, const int*, const REAL*, const int*, const REAL*, REAL*, const int*);
static NAME(gemm_fn) NAME(gemm) = 0;

/* Row-major C[M,N] = beta * C + op(A)[M,K] @ op(B)[K,N], op 'N' or 'T'; lda/ldb/ldc are row strides.
 * A row-major matrix is its transpose in column-major, so this is the column-major C^T = op(B)^T op(A)^T.
 * beta 0 zeroes C here and accumulates (beta 1): MKL's own beta-0 path clears C with a scaling loop that took
 * 3.5% of a GRU training step (perf); a memset first gives the same values (bit for bit with torch's MKL; another
 * BLAS could differ at most in the sign of a zero) and a 2% faster step. */
static void NAME(mm)(char ta, char tb, int M, int N, int K, const REAL* A, int lda, const REAL* B, int ldb,
                     REAL beta, REAL* C, int ldc) {
    const REAL one = 1;
    if (beta == 0) {
        if (ldc == N) memset(C, 0, sizeof(REAL) * (size_t)M * N);
        else for (int i = 0; i < M; i++) memset(C + (int64_t)i * ldc, 0, sizeof(REAL) * N);
        beta = 1;
    }
    NAME(gemm)(&tb, &ta, &N, &M, &K, &one, B, &ldb, A, &lda, &beta, C, &ldc);
}

/* C[M,N] = A[M,K] @ B[K,N]: the loader's check that the BLAS it was given answers as torch.mm does. */
void NAME(rnnkit_mm)(int M, int N, int K, const REAL* A, const REAL* B, REAL* C) {
    NAME(mm)('N', 'N', M, N, K, A, K, B, N, 0, C, N);
}

static inline int NAME(live)(const int64_t* lens, int t, int b) { return !lens || t < lens[b]; }

/* relu as torch's: 0 below zero, NaN passes through (the second comparison is false only for NaN). */
static inline REAL NAME(relu)(REAL v) { return v > 0 ? v : (v == v ? (REAL)0 : v); }

/* Each step's product input sits beside the step's x: row (t, b) of xh [T+1,B,L] is [x_t, h_{t-1}] (columns
 * [0, D) and [D, D+H); L >= D+H is the row stride, rounded up so that rows start 64-byte aligned, which makes the
 * weight-gradient product over all rows about a quarter faster), so one product [x_t, h] @ W (K = D+H) does the
 * input and the recurrent half at once, in cache, and the kernels' gradients are products [X, H_prev]^T @ dZ
 * (by the caller over all T*B rows, or by the GRU and LSTM reverse loops below every ~128 rows, weight_grad). */

/* Step t's inputs into the product rows: D values of row b from x + b xbs to dst + b L (the step's product
 * reads them a moment later, from cache; one pass over x instead of a layout copy and a buffer fill). */
static void NAME(take_rows)(int B, int D, int L, const REAL* x, int64_t xbs, REAL* dst) {
    for (int b = 0; b < B; b++) memcpy(dst + (int64_t)b * L, x + b * xbs, sizeof(REAL) * D);
}

/* The kernels' gradients of steps [t0, t0 + n): dW[K,N] += rows^T @ dz over their n B rows (rows: stride L, the
 * first K columns; dz: stride N). Done every few steps of the reverse loop, while those rows are still in cache
 * (one product over all T B rows read them back from memory). dW NULL: not wanted. */
static void NAME(weight_grad)(int n, int B, int K, int N, int L, const REAL* rows, const REAL* dz, REAL* dW) {
    if (dW) NAME(mm)('T', 'N', K, N, n * B, rows, L, dz, N, 1, dW, N);
}

/* The end of a projected step (NAS, GLSTM): m' = h @ proj into mn [B,P] when there is a projection (without one h
 * already is mn), then each row's output into y [B,P], or for a row that has ended at step t its previous m
 * carried over (the row P * B before) and a zero output. */
static void NAME(project_and_emit)(int B, int H, int P, const REAL* h, const REAL* proj, REAL* mn, REAL* y, int t,
                                   const int64_t* lens) {
    const int64_t BP = (int64_t)B * P;
    if (proj) NAME(mm)('N', 'N', B, P, H, h, H, proj, P, 0, mn, P);
    for (int r = 0; r < B; r++) {
        REAL* mr = mn + (int64_t)r * P;
        REAL* yr = y + (int64_t)r * P;
        if (NAME(live)(lens, t, r)) {
            memcpy(yr, mr, sizeof(REAL) * P);
        } else {
            memcpy(mr, mr - BP, sizeof(REAL) * P); /* the state carries over */
            memset(yr, 0, sizeof(REAL) * P);
        }
    }
}

/* project_and_emit's reverse, its first part: the gradient of each row's m' at step t, dmt = dm + dy (dm: from
 * the later steps, dy [B,P]: the output's), and zero for a row that has ended (its m' was carried, not made). */
static void NAME(projected_grad)(int B, int P, const REAL* dm, const REAL* dy, REAL* dmt, int t,
                                 const int64_t* lens) {
    for (int r = 0; r < B; r++) {
        const int64_t q = (int64_t)r * P;
        if (NAME(live)(lens, t, r))
            for (int k = 0; k < P; k++) dmt[q + k] = dm[q + k] + dy[q + k];
        else
            memset(dmt + q, 0, sizeof(REAL) * P);
    }
}

/* One row of the GRU's second half: c = tanh(c_pre + bc) (stored over c_pre), h' = c + u (h - c) into the next
 * buffer row and the outputs. */
static void NAME(gru_blend_row)(int H, REAL* restrict c, const REAL* restrict bc, const REAL* restrict u,
                                const REAL* restrict h, REAL* restrict hn, REAL* restrict ob) {
    for (int k = 0; k < H; k++) {
        REAL cc = TANH(c[k] + bc[k]);
        REAL v = cc + u[k] * (h[k] - cc);
        c[k] = cc, hn[k] = v, ob[k] = v;
    }
}

/* ---- TF GRUCell: r, u = sigmoid([x, h] Wg + bg); c = tanh([x, r h] Wc + bc); h' = lerp(c, h, u) ----
 * x: x_t's row b at x + t xts + b xbs (D contiguous values: the caller's layout, time- or batch-major, read
 * where it lies). xh [T+1,B,L]: h0 in columns [D, D+H) of row 0; writes x_t to columns [0, D) of rows t < T
 * and h_t to row t's columns [D, D+H) for t = 1..T. xr [T,B,L]: writes x_t to columns [0, D), r h to
 * columns [D, D+H).
 * wg [D+H,2H], bg [2H], wc [D+H,H], bc [H]. Writes gs [T,B,2H] (r|u after the sigmoid), cs [T,B,H] (c) and
 * out [T,B,H] (the outputs: h_t, zero where a row has ended). */
void NAME(gru_forward)(int T, int B, int D, int H, int L, const REAL* x, int64_t xts, int64_t xbs, REAL* xh,
                       REAL* xr, const REAL* wg, const REAL* bg, const REAL* wc, const REAL* bc, REAL* gs, REAL* cs,
                       REAL* out, const int64_t* lens) {
    const int K = D + H;
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 2 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        REAL* c = cs + t * BH;
        REAL* row = xh + t * BL;
        REAL* rrow = xr + t * BL;
        NAME(take_rows)(B, D, L, x + t * xts, xbs, row);
        NAME(take_rows)(B, D, L, x + t * xts, xbs, rrow);
        NAME(mm)('N', 'N', B, 2 * H, K, row, L, wg, 2 * H, 0, g, 2 * H);
        for (int b = 0; b < B; b++) {
            REAL* restrict gb = g + (int64_t)b * 2 * H;
            const REAL* restrict hb = row + (int64_t)b * L + D;
            REAL* restrict rb = rrow + (int64_t)b * L + D;
            const REAL* restrict bias = bg;
            for (int k = 0; k < 2 * H; k++) gb[k] = SIG(gb[k] + bias[k]);
            for (int k = 0; k < H; k++) rb[k] = gb[k] * hb[k];
        }
        NAME(mm)('N', 'N', B, H, K, rrow, L, wc, H, 0, c, H);
        for (int b = 0; b < B; b++) {
            const REAL* hb = row + (int64_t)b * L + D;
            REAL* nb = row + BL + (int64_t)b * L + D;
            REAL* ob = out + t * BH + (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memcpy(nb, hb, sizeof(REAL) * H);
                memset(ob, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(gru_blend_row)(H, c + (int64_t)b * H, bc, g + (int64_t)b * 2 * H + H, hb, nb, ob);
        }
    }
}

/* One row of the reverse step, before the candidate product: d = dh + dy (the gradient of h'),
 * du = d (h - c), dh_prev = d u, dc = d (1 - u) (1 - c^2) (the gradient of the candidate's pre-activation). */
static void NAME(gru_back_a)(int H, const REAL* restrict dh, const REAL* restrict dy, const REAL* restrict h,
                             const REAL* restrict c, const REAL* restrict u, REAL* restrict du,
                             REAL* restrict dhp, REAL* restrict dc, REAL* restrict dbc) {
    for (int k = 0; k < H; k++) {
        REAL d = dh[k] + dy[k];
        du[k] = d * (h[k] - c[k]);
        dhp[k] = d * u[k];
        dc[k] = d * ((REAL)1 - u[k]) * ((REAL)1 - c[k] * c[k]);
        dbc[k] += dc[k]; /* the candidate bias's gradient, summed while the row is in cache */
    }
}

/* After it, with drh = dc Uc^T (the gradient of r h): the gates' pre-activation gradients and dh_prev += drh r. */
static void NAME(gru_back_b)(int H, const REAL* restrict drh, const REAL* restrict h, const REAL* restrict r,
                             const REAL* restrict u, const REAL* restrict du, REAL* restrict dgr,
                             REAL* restrict dgu, REAL* restrict dhp, REAL* restrict dbr, REAL* restrict dbu) {
    for (int k = 0; k < H; k++) {
        dgr[k] = drh[k] * h[k] * r[k] * ((REAL)1 - r[k]);
        dgu[k] = du[k] * u[k] * ((REAL)1 - u[k]);
        dhp[k] += drh[k] * r[k];
        dbr[k] += dgr[k];
        dbu[k] += dgu[k];
    }
}

/* dys: the outputs' gradient, step t's row b at dys + t dyts + b dybs (H contiguous values; NULL: zero);
 * dh [B,H]: in, the final state's gradient, out, h0's. ugt [2H,H], uct [H,H]: the kernels' recurrent rows
 * transposed (contiguous: the products run about 3% faster than on transposed views). xh, xr, gs, cs: the
 * forward's. Writes dgs [T,B,2H] (the gradient of the gates' pre-activations) and dcs [T,B,H] (the
 * candidate's), adds their sums over all rows to dbg [2H] and dbc [H] (the biases' gradients) and, every `chunk`
 * steps, their products with the rows to dwg [D+H,2H] and dwc [D+H,H] (the kernels' gradients; NULL: not
 * wanted). scratch: 3 B H + H. */
void NAME(gru_backward)(int T, int B, int D, int H, int L, const REAL* ugt, const REAL* uct, const REAL* xh,
                        const REAL* xr, const REAL* gs, const REAL* cs, const REAL* dys, int64_t dyts,
                        int64_t dybs, REAL* dh, REAL* dgs, REAL* dcs, REAL* dbg, REAL* dbc, REAL* dwg, REAL* dwc,
                        int chunk, REAL* scratch, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 2 * BH;
    REAL* du = scratch;
    REAL* dhp = scratch + BH;
    REAL* drh = scratch + 2 * BH;
    REAL* zero = scratch + 3 * BH; /* the outputs' gradient when there is none */
    memset(zero, 0, sizeof(REAL) * H);
    for (int t = T - 1; t >= 0; t--) {
        const REAL* row = xh + t * BL;
        const REAL* g = gs + t * BG;
        REAL* dg = dgs + t * BG;
        REAL* dc = dcs + t * BH;
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {  /* no step: the state's gradient passes through */
                memcpy(dhp + o, dh + o, sizeof(REAL) * H);
                memset(du + o, 0, sizeof(REAL) * H);
                memset(dc + o, 0, sizeof(REAL) * H);
                continue;
            }
            const REAL* dy = dys ? dys + t * dyts + b * dybs : zero;
            NAME(gru_back_a)(H, dh + o, dy, row + (int64_t)b * L + D, cs + t * BH + o, g + 2 * o + H, du + o,
                             dhp + o, dc + o, dbc);
        }
        NAME(mm)('N', 'N', B, H, H, dc, H, uct, H, 0, drh, H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H;
            NAME(gru_back_b)(H, drh + o, row + (int64_t)b * L + D, g + 2 * o, g + 2 * o + H, du + o, dg + 2 * o,
                             dg + 2 * o + H, dhp + o, dbg, dbg + H);
        }
        memcpy(dh, dhp, sizeof(REAL) * BH);
        NAME(mm)('N', 'N', B, H, 2 * H, dg, 2 * H, ugt, H, 1, dh, H);
        if (t % chunk == 0) { /* steps [t, t + n) are done: their share of the kernels' gradients */
            const int n = (T - t < chunk) ? T - t : chunk;
            NAME(weight_grad)(n, B, D + H, 2 * H, L, row, dg, dwg);
            NAME(weight_grad)(n, B, D + H, H, L, xr + t * BL, dc, dwc);
        }
    }
}

/* ---- TF LSTMCell (peepholes and cell_clip optional, tanh, no projection) ----
 * i, j, f, o = z = [x, m] W + bias;  c' = clip(sigmoid(f + wf c) c + sigmoid(i + wi c) tanh(j));
 * m' = sigmoid(o + wo c') tanh(c'). xm [T+1,B,L]: x_t in columns [0, D) of rows t < T, m0 in columns
 * [D, D+H) of row 0; writes m_t there for t = 1..T, and x_t (read from x as in gru_forward) to columns [0, D)
 * of rows t < T. w [D+H,4H]; bias [4H] (forget_bias folded into f); peep: NULL
 * or [3,H] (wi, wf, wo); clip <= 0: none. cs [T+1,B,H] with row 0 set; writes rows 1..T, gs [T,B,4H] (the
 * activated gates sigmoid(i), tanh(j), sigmoid(f), sigmoid(o)), tcs [T,B,H] (tanh(c')), out [T,B,H] (the
 * outputs: m_t, zero where a row has ended) and, when clipping, ups [T,B,H] (c' before the clip). */
static inline __attribute__((always_inline)) void NAME(lstm_row_body)(
    int H, REAL* restrict z, const REAL* restrict bias, const REAL* restrict c, const REAL* restrict peep,
    REAL clip, REAL* restrict cn, REAL* restrict mn, REAL* restrict ob, REAL* restrict tc, REAL* restrict up,
    const int has_peep, const int has_clip) {
    for (int k = 0; k < H; k++) {
        REAL i = z[k] + bias[k], f = z[2 * H + k] + bias[2 * H + k], o = z[3 * H + k] + bias[3 * H + k];
        if (has_peep) {
            i += peep[k] * c[k];
            f += peep[H + k] * c[k];
        }
        REAL si = SIG(i), sf = SIG(f), tj = TANH(z[H + k] + bias[H + k]);
        REAL v = sf * c[k] + si * tj;
        if (has_clip) {
            up[k] = v;
            v = v > clip ? clip : (v < -clip ? -clip : v);
        }
        if (has_peep) o += peep[2 * H + k] * v;
        REAL so = SIG(o), t = TANH(v);
        z[k] = si, z[H + k] = tj, z[2 * H + k] = sf, z[3 * H + k] = so;
        cn[k] = v, tc[k] = t, mn[k] = so * t, ob[k] = so * t;
    }
}

/* The row loop with its two options as constants, so that each variant vectorises without branches. */
static void NAME(lstm_row)(int H, REAL* z, const REAL* bias, const REAL* c, const REAL* peep, REAL clip, REAL* cn,
                           REAL* mn, REAL* ob, REAL* tc, REAL* up) {
    if (peep && clip > 0)
        NAME(lstm_row_body)(H, z, bias, c, peep, clip, cn, mn, ob, tc, up, 1, 1);
    else if (peep)
        NAME(lstm_row_body)(H, z, bias, c, peep, clip, cn, mn, ob, tc, up, 1, 0);
    else if (clip > 0)
        NAME(lstm_row_body)(H, z, bias, c, peep, clip, cn, mn, ob, tc, up, 0, 1);
    else
        NAME(lstm_row_body)(H, z, bias, c, peep, clip, cn, mn, ob, tc, up, 0, 0);
}

void NAME(lstm_forward)(int T, int B, int D, int H, int L, const REAL* x, int64_t xts, int64_t xbs, REAL* xm,
                        const REAL* w, const REAL* bias, const REAL* peep, REAL clip, REAL* cs, REAL* gs, REAL* tcs,
                        REAL* ups, REAL* out, const int64_t* lens) {
    const int K = D + H;
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 4 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        REAL* row = xm + t * BL;
        NAME(take_rows)(B, D, L, x + t * xts, xbs, row);
        NAME(mm)('N', 'N', B, 4 * H, K, row, L, w, 4 * H, 0, g, 4 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o, next = now + BH;
            REAL* m_next = row + BL + (int64_t)b * L + D;
            if (!NAME(live)(lens, t, b)) {
                memcpy(cs + next, cs + now, sizeof(REAL) * H);
                memcpy(m_next, row + (int64_t)b * L + D, sizeof(REAL) * H);
                memset(out + now, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(lstm_row)(H, g + 4 * o, bias, cs + now, peep, clip, cs + next, m_next, out + now, tcs + now,
                           clip > 0 ? ups + now : 0);
        }
    }
}

/* One row of the reverse step: dm = dm_carry + dy, dc = dc_carry (in: of c', out: of c); writes the four gate
 * pre-activation gradients dz and adds the peephole gradients to dpeep. */
static inline __attribute__((always_inline)) void NAME(lstm_back_body)(
    int H, const REAL* restrict dm, const REAL* restrict dy, REAL* restrict dc, const REAL* restrict g,
    const REAL* restrict c, const REAL* restrict cn, const REAL* restrict tc, const REAL* restrict up,
    const REAL* restrict peep, REAL clip, REAL* restrict dz, REAL* restrict dpeep, const int has_peep,
    const int has_clip) {
    for (int k = 0; k < H; k++) {
        REAL si = g[k], tj = g[H + k], sf = g[2 * H + k], so = g[3 * H + k];
        REAL d = dm[k] + dy[k];
        REAL dop = d * tc[k] * so * ((REAL)1 - so);
        REAL dv = dc[k] + d * so * ((REAL)1 - tc[k] * tc[k]);
        if (has_peep) dv += dop * peep[2 * H + k];
        if (has_clip) dv = (up[k] > clip || up[k] < -clip) ? (REAL)0 : dv; /* clip_by_value: none outside */
        REAL dip = dv * tj * si * ((REAL)1 - si);
        REAL djp = dv * si * ((REAL)1 - tj * tj);
        REAL dfp = dv * c[k] * sf * ((REAL)1 - sf);
        REAL dcp = dv * sf;
        if (has_peep) {
            dcp += dip * peep[k] + dfp * peep[H + k];
            dpeep[k] += dip * c[k];
            dpeep[H + k] += dfp * c[k];
            dpeep[2 * H + k] += dop * cn[k];
        }
        dz[k] = dip, dz[H + k] = djp, dz[2 * H + k] = dfp, dz[3 * H + k] = dop;
        dc[k] = dcp;
    }
}

static void NAME(lstm_back_row)(int H, const REAL* dm, const REAL* dy, REAL* dc, const REAL* g, const REAL* c,
                                const REAL* cn, const REAL* tc, const REAL* up, const REAL* peep, REAL clip,
                                REAL* dz, REAL* dpeep, REAL* db) {
    if (peep && clip > 0)
        NAME(lstm_back_body)(H, dm, dy, dc, g, c, cn, tc, up, peep, clip, dz, dpeep, 1, 1);
    else if (peep)
        NAME(lstm_back_body)(H, dm, dy, dc, g, c, cn, tc, up, peep, clip, dz, dpeep, 1, 0);
    else if (clip > 0)
        NAME(lstm_back_body)(H, dm, dy, dc, g, c, cn, tc, up, peep, clip, dz, dpeep, 0, 1);
    else
        NAME(lstm_back_body)(H, dm, dy, dc, g, c, cn, tc, up, peep, clip, dz, dpeep, 0, 0);
    /* the bias's gradient, from the row while it is in cache (in the loop above it stops the vectoriser) */
    for (int k = 0; k < 4 * H; k++) db[k] += dz[k];
}

/* dys: the outputs' gradient, read as in gru_backward (NULL: zero); dm, dc [B,H]: in, the final state's
 * gradients, out, the initial state's. wt [4H,H]: the kernel's recurrent rows transposed (contiguous). xm, cs, gs,
 * tcs, ups: the forward's. Writes dzs [T,B,4H] (the gradient of the gates' pre-activations), adds its sum over
 * all rows to db [4H] (the bias's gradient), every `chunk` steps its product with the rows [x_t, m_{t-1}] to dw
 * [D+H,4H] (the kernel's gradient; NULL: not wanted) and, with peepholes, their gradients to dpeep [3,H].
 * scratch: B H + H. */
void NAME(lstm_backward)(int T, int B, int D, int H, int L, const REAL* wt, const REAL* peep, REAL clip,
                         const REAL* xm, const REAL* cs, const REAL* gs, const REAL* tcs, const REAL* ups,
                         const REAL* dys, int64_t dyts, int64_t dybs, REAL* dm, REAL* dc, REAL* dzs, REAL* dpeep,
                         REAL* db, REAL* dw, int chunk, REAL* scratch, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 4 * BH;
    REAL* dmp = scratch;
    REAL* zero = scratch + BH; /* the outputs' gradient when there is none */
    memset(zero, 0, sizeof(REAL) * H);
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o;
            if (!NAME(live)(lens, t, b)) {  /* no step: both state gradients pass through */
                memcpy(dmp + o, dm + o, sizeof(REAL) * H);
                memset(dz + 4 * o, 0, sizeof(REAL) * 4 * H);
                continue;
            }
            memset(dmp + o, 0, sizeof(REAL) * H);
            const REAL* dy = dys ? dys + t * dyts + b * dybs : zero;
            NAME(lstm_back_row)(H, dm + o, dy, dc + o, gs + t * BG + 4 * o, cs + now, cs + now + BH, tcs + now,
                                clip > 0 ? ups + now : 0, peep, clip, dz + 4 * o, dpeep, db);
        }
        NAME(mm)('N', 'N', B, H, 4 * H, dz, 4 * H, wt, H, 1, dmp, H);
        memcpy(dm, dmp, sizeof(REAL) * BH);
        if (t % chunk == 0) /* steps [t, t + n) are done: their share of the kernel's gradient */
            NAME(weight_grad)((T - t < chunk) ? T - t : chunk, B, D + H, 4 * H, L, xm + t * BL, dz, dw);
    }
}
