/* contrib's SRUCell, UGRNNCell and IntersectionRNNCell for one real type; sequences.c includes this once per type, after
 * sequences_real.h (whose mm, live and row-layout conventions it uses), with REAL and SUF defined. */

/* ---- SRUCell: p = x kernel (the caller's product of all steps, [x_bar, f, r, x_tx] before the gates'
 * sigmoid); f, r = sigmoid([f, r] + bias); c' = f c + (1 - f) x_bar; h = r tanh(c') + (1 - r) x_tx. No matrix acts
 * on the state: the loop is pointwise. cs [T+1,B,H] with cs[0] = c0; writes cs[1..T], f and r over their
 * pre-activations in ps, ts [T,B,H] (tanh(c')) and out [T,B,H] (h, zero where a row has ended). */
static void NAME(sru_row)(int H, REAL* restrict p, const REAL* restrict bias, const REAL* restrict c,
                          REAL* restrict cn, REAL* restrict tc, REAL* restrict y) {
    for (int k = 0; k < H; k++) {
        REAL f = SIG(p[H + k] + bias[k]), r = SIG(p[2 * H + k] + bias[H + k]);
        REAL xb = p[k], xt = p[3 * H + k];
        REAL v = f * c[k] + ((REAL)1 - f) * xb, t = TANH(v);
        p[H + k] = f, p[2 * H + k] = r;
        cn[k] = v, tc[k] = t, y[k] = r * t + ((REAL)1 - r) * xt;
    }
}

void NAME(sru_forward)(int T, int B, int H, REAL* ps, const REAL* bias, REAL* cs, REAL* ts, REAL* out,
                       const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memcpy(cs + o + BH, cs + o, sizeof(REAL) * H);
                memset(out + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(sru_row)(H, ps + 4 * o, bias, cs + o, cs + o + BH, ts + o, out + o);
        }
}

static void NAME(sru_back_row)(int H, const REAL* restrict p, const REAL* restrict c, const REAL* restrict tc,
                               const REAL* restrict dy, REAL* restrict dc, REAL* restrict dp) {
    for (int k = 0; k < H; k++) {
        REAL xb = p[k], f = p[H + k], r = p[2 * H + k], xt = p[3 * H + k], t = tc[k], d = dy[k];
        REAL dv = dc[k] + d * r * ((REAL)1 - t * t);
        dp[k] = dv * ((REAL)1 - f), dp[H + k] = dv * (c[k] - xb) * f * ((REAL)1 - f);
        dp[2 * H + k] = d * (t - xt) * r * ((REAL)1 - r), dp[3 * H + k] = d * ((REAL)1 - r);
        dc[k] = dv * f;
    }
}

/* dys [T,B,H]; dc [B,H]: in, the final state's gradient, out, c0's. ps: the forward's (f, r activated). Writes
 * dps [T,B,4H] (the gradient of x kernel) and adds the gates' part of it to db [2H] (the bias's gradient). */
void NAME(sru_backward)(int T, int B, int H, const REAL* ps, const REAL* cs, const REAL* ts, const REAL* dys,
                        REAL* dc, REAL* dps, REAL* db, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = T - 1; t >= 0; t--)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memset(dps + 4 * o, 0, sizeof(REAL) * 4 * H);
                continue;
            }
            NAME(sru_back_row)(H, ps + 4 * o, cs + o, ts + o, dys + o, dc + (int64_t)b * H, dps + 4 * o);
            for (int k = 0; k < 2 * H; k++) db[k] += dps[4 * o + H + k];
        }
}

/* ---- UGRNNCell: g_act, c_act = split([x, h] kernel + bias, 2); g = sigmoid(g_act + fb); c = tanh(c_act);
 * h' = g h + (1 - g) c. xh [T+1,B,L] rows [x_t, h_{t-1}] as the GRU's (sequences_real.h); kernel [D+H,2H];
 * bias [2H]. Writes gs [T,B,2H] (g | c after their activations) and out [T,B,H]. */
static void NAME(ugrnn_row)(int H, REAL* restrict z, const REAL* restrict bias, REAL fb, const REAL* restrict h,
                            REAL* restrict hn, REAL* restrict y) {
    for (int k = 0; k < H; k++) {
        REAL g = SIG(z[k] + bias[k] + fb), c = TANH(z[H + k] + bias[H + k]);
        REAL v = g * h[k] + ((REAL)1 - g) * c;
        z[k] = g, z[H + k] = c, hn[k] = v, y[k] = v;
    }
}

void NAME(ugrnn_forward)(int T, int B, int D, int H, int L, REAL* xh, const REAL* w, const REAL* bias, REAL fb,
                         REAL* gs, REAL* out, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 2 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        REAL* row = xh + t * BL;
        NAME(mm)('N', 'N', B, 2 * H, D + H, row, L, w, 2 * H, 0, g, 2 * H);
        for (int b = 0; b < B; b++) {
            const REAL* h = row + (int64_t)b * L + D;
            REAL* hn = row + BL + (int64_t)b * L + D;
            if (!NAME(live)(lens, t, b)) {
                memcpy(hn, h, sizeof(REAL) * H);
                memset(out + t * BH + (int64_t)b * H, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(ugrnn_row)(H, g + (int64_t)b * 2 * H, bias, fb, h, hn, out + t * BH + (int64_t)b * H);
        }
    }
}

static void NAME(ugrnn_back_row)(int H, REAL* restrict d, const REAL* restrict dy, const REAL* restrict h,
                                 const REAL* restrict gc, REAL* restrict dz, REAL* restrict dhp) {
    for (int k = 0; k < H; k++) {
        REAL g = gc[k], c = gc[H + k], e = d[k] + dy[k];
        dz[k] = e * (h[k] - c) * g * ((REAL)1 - g), dz[H + k] = e * ((REAL)1 - g) * ((REAL)1 - c * c);
        dhp[k] = e * g;
    }
}

/* dys [T,B,H]; dh [B,H] in/out; wt [2H,H]: the kernel's recurrent rows transposed. Writes dzs [T,B,2H] (the
 * gradient of the pre-activations) and adds its row sums to db [2H]. scratch: B H. */
void NAME(ugrnn_backward)(int T, int B, int D, int H, int L, const REAL* wt, const REAL* xh, const REAL* gs,
                          const REAL* dys, REAL* dh, REAL* dzs, REAL* db, REAL* scratch, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 2 * BH;
    REAL* dhp = scratch;
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memcpy(dhp + o, dh + o, sizeof(REAL) * H);
                memset(dz + 2 * o, 0, sizeof(REAL) * 2 * H);
                continue;
            }
            NAME(ugrnn_back_row)(H, dh + o, dys + t * BH + o, xh + t * BL + (int64_t)b * L + D, gs + t * BG + 2 * o,
                                 dz + 2 * o, dhp + o);
            for (int k = 0; k < 2 * H; k++) db[k] += dz[2 * o + k];
        }
        memcpy(dh, dhp, sizeof(REAL) * BH);
        NAME(mm)('N', 'N', B, H, 2 * H, dz, 2 * H, wt, H, 1, dh, H);
    }
}

/* ---- IntersectionRNNCell: gh, hc, gy, yc = split(zx + h w, 4) (zx = x' kernel[:H] + bias, the caller's);
 * gh, gy = sigmoid(gh + fb), sigmoid(gy + fb); h' = gh h + (1 - gh) tanh(hc); y = gy x' + (1 - gy) act(yc),
 * act relu (relu = 1) or tanh. xs [T,B,H]: x' (the depth input); w [H,4H]: kernel[H:]. hs [T+1,B,H] with
 * hs[0] = h0; writes hs[1..T], gs [T,B,4H] (gh, tanh(hc), gy, act(yc)) and out [T,B,H] (y). */
static inline __attribute__((always_inline)) void NAME(inter_row_body)(
    int H, REAL* restrict g0, REAL* restrict g1, REAL* restrict g2, REAL* restrict g3, const REAL* restrict x,
    const REAL* restrict h, REAL fb, REAL* restrict hn, REAL* restrict y, const int relu) {
    for (int k = 0; k < H; k++) {
        REAL gh = SIG(g0[k] + fb), th = TANH(g1[k]), gy = SIG(g2[k] + fb);
        REAL ya = relu ? NAME(relu)(g3[k]) : TANH(g3[k]);
        g0[k] = gh, g1[k] = th, g2[k] = gy, g3[k] = ya;
        hn[k] = gh * h[k] + ((REAL)1 - gh) * th;
        y[k] = gy * x[k] + ((REAL)1 - gy) * ya;
    }
}

/* One row (the four gate blocks through their own restrict pointers, relu as a constant: both so that the
 * loop vectorises). */
static void NAME(inter_row)(int H, REAL* g, const REAL* x, const REAL* h, REAL fb, int relu, REAL* hn, REAL* y) {
    if (relu)
        NAME(inter_row_body)(H, g, g + H, g + 2 * H, g + 3 * H, x, h, fb, hn, y, 1);
    else
        NAME(inter_row_body)(H, g, g + H, g + 2 * H, g + 3 * H, x, h, fb, hn, y, 0);
}

void NAME(inter_forward)(int T, int B, int H, const REAL* xs, const REAL* zx, const REAL* w, REAL fb, int relu,
                         REAL* hs, REAL* gs, REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 4 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        memcpy(g, zx + t * BG, sizeof(REAL) * BG);
        NAME(mm)('N', 'N', B, 4 * H, H, hs + t * BH, H, w, 4 * H, 1, g, 4 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memcpy(hs + o + BH, hs + o, sizeof(REAL) * H);
                memset(out + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(inter_row)(H, g + 4 * (int64_t)b * H, xs + o, hs + o, fb, relu, hs + o + BH, out + o);
        }
    }
}

static inline __attribute__((always_inline)) void NAME(inter_back_body)(
    int H, const REAL* restrict gh_, const REAL* restrict th_, const REAL* restrict gy_, const REAL* restrict ya_,
    const REAL* restrict x, const REAL* restrict h, const REAL* restrict dy, const REAL* restrict d,
    REAL* restrict dz0, REAL* restrict dz1, REAL* restrict dz2, REAL* restrict dz3, REAL* restrict dx,
    REAL* restrict dhp, const int relu) {
    for (int k = 0; k < H; k++) {
        REAL gh = gh_[k], th = th_[k], gy = gy_[k], ya = ya_[k], e = dy[k], s = d[k];
        REAL act = relu ? (ya > 0 ? (REAL)1 : (REAL)0) : (REAL)1 - ya * ya;
        dz0[k] = s * (h[k] - th) * gh * ((REAL)1 - gh);
        dz1[k] = s * ((REAL)1 - gh) * ((REAL)1 - th * th);
        dz2[k] = e * (x[k] - ya) * gy * ((REAL)1 - gy);
        dz3[k] = e * ((REAL)1 - gy) * act;
        dx[k] = e * gy;
        dhp[k] = s * gh;
    }
}

static void NAME(inter_back_row)(int H, const REAL* g, const REAL* x, const REAL* h, const REAL* dy, const REAL* d,
                                 int relu, REAL* dz, REAL* dx, REAL* dhp) {
    if (relu)
        NAME(inter_back_body)(H, g, g + H, g + 2 * H, g + 3 * H, x, h, dy, d, dz, dz + H, dz + 2 * H, dz + 3 * H,
                              dx, dhp, 1);
    else
        NAME(inter_back_body)(H, g, g + H, g + 2 * H, g + 3 * H, x, h, dy, d, dz, dz + H, dz + 2 * H, dz + 3 * H,
                              dx, dhp, 0);
}

/* dys [T,B,H]; dh [B,H] in/out; wt [4H,H]: w transposed. Writes dzs [T,B,4H] (the gradient of zx) and dxs
 * [T,B,H] (of x' through the output's depth path). scratch: B H. */
void NAME(inter_backward)(int T, int B, int H, const REAL* wt, const REAL* xs, const REAL* hs, const REAL* gs,
                          const REAL* dys, int relu, REAL* dh, REAL* dzs, REAL* dxs, REAL* scratch,
                          const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 4 * BH;
    REAL* dhp = scratch;
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H, q = (int64_t)b * H;
            if (!NAME(live)(lens, t, b)) {
                memcpy(dhp + q, dh + q, sizeof(REAL) * H);
                memset(dz + 4 * q, 0, sizeof(REAL) * 4 * H);
                memset(dxs + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(inter_back_row)(H, gs + t * BG + 4 * q, xs + o, hs + o, dys + o, dh + q, relu, dz + 4 * q,
                                 dxs + o, dhp + q);
        }
        memcpy(dh, dhp, sizeof(REAL) * BH);
        NAME(mm)('N', 'N', B, H, 4 * H, dz, 4 * H, wt, H, 1, dh, H);
    }
}
