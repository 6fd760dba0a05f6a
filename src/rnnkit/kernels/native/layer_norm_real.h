/* The layer-normalised LSTMs (kernels/layer_norm_lstm.py: LayerNormBasicLSTMCell, contrib's LayerNormLSTMCell)
 * for one real type; sequences.c includes it once per type. Per row of step t, from z = xk[t] + h W_h [4H]:
 *   n_q = LN(z_q; g4[q], b4[q]) for q = i, j, f, o     LN(v) = v * inv + (beta - mean * inv), inv = gamma rstd
 *   c~ = LN(sigmoid(n_f + fb + wf c) c + sigmoid(n_i + wi c) tanh(n_j); gs, bs),  c' = clip(c~)
 *   h' = sigmoid(n_o + wo c') tanh(c')       (peephole terms with peep only; clip <= 0: none)
 * rstd = 1 / sqrt(var + eps), the variance around the mean over the row's H values. */

/* Sum of x[0..H) in eight interleaved partial sums: the sequential sum's one long dependency chain is what would
 * bound the normalisations (the order differs from torch's own sum by rounding only). */
static inline REAL NAME(ln_sum)(int H, const REAL* restrict x) {
    REAL acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int k = 0;
    for (; k + 8 <= H; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += x[k + u];
    REAL s = 0;
    for (; k < H; k++) s += x[k];
    return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Normalise v[0..H) in place (v := v * inv + (beta - mean * inv)), saving xhat = (v - mean) rstd and rstd. */
static inline void NAME(ln_forward)(int H, REAL* restrict v, const REAL* restrict gamma, const REAL* restrict beta,
                                    REAL eps, REAL* restrict xhat, REAL* restrict rstd_out) {
    const REAL mean = NAME(ln_sum)(H, v) / H;
    for (int k = 0; k < H; k++) {
        REAL d = v[k] - mean;
        xhat[k] = d * d; /* the squares first, xhat below */
    }
    const REAL rstd = (REAL)1 / (REAL)sqrt((double)(NAME(ln_sum)(H, xhat) / H + eps));
    for (int k = 0; k < H; k++) {
        REAL inv = rstd * gamma[k];
        xhat[k] = (v[k] - mean) * rstd;
        v[k] = v[k] * inv + (beta[k] - mean * inv);
    }
    *rstd_out = rstd;
}

/* The layer norm's backward in place: dn (the gradient of the normalised values) becomes the gradient of the
 * inputs, rstd (dx - mean(dx) - xhat mean(dx xhat)) with dx = dn gamma; dgamma += dn xhat, dbeta += dn.
 * tmp: H values. */
static inline void NAME(ln_backward)(int H, REAL* restrict dn, const REAL* restrict gamma, const REAL* restrict xhat,
                                     REAL rstd, REAL* restrict dgamma, REAL* restrict dbeta, REAL* restrict tmp) {
    for (int k = 0; k < H; k++) {
        dgamma[k] += dn[k] * xhat[k];
        dbeta[k] += dn[k];
        dn[k] *= gamma[k];
        tmp[k] = dn[k] * xhat[k];
    }
    const REAL m1 = NAME(ln_sum)(H, dn) / H, m2 = NAME(ln_sum)(H, tmp) / H;
    for (int k = 0; k < H; k++) dn[k] = (dn[k] - m1 - xhat[k] * m2) * rstd;
}

/* One live row of the forward. z [4H]: in, xk + h W_h; out, the activated gates sigmoid(i), tanh(j), sigmoid(f),
 * sigmoid(o). xh [4H], rs4 [4]: the gates' xhat and rstd; xs [H], rs: the state's; cn: c' (the state), hn, ob: h';
 * tc: tanh(c'); up: c~ (before the clip). */
static inline __attribute__((always_inline)) void NAME(lnlstm_row_body)(
    int H, REAL* restrict z, REAL* restrict xh, REAL* restrict rs4, const REAL* restrict g4,
    const REAL* restrict b4, const REAL* restrict gs, const REAL* restrict bs, const REAL* restrict peep, REAL fb,
    REAL eps, REAL clip, const REAL* restrict c, REAL* restrict cn, REAL* restrict hn, REAL* restrict ob,
    REAL* restrict tc, REAL* restrict xs, REAL* restrict rs, REAL* restrict up, const int has_peep,
    const int has_clip) {
    for (int q = 0; q < 4; q++) NAME(ln_forward)(H, z + q * H, g4 + q * H, b4 + q * H, eps, xh + q * H, rs4 + q);
    for (int k = 0; k < H; k++) {
        REAL i = z[k], f = z[2 * H + k] + fb;
        if (has_peep) {
            i += peep[k] * c[k];
            f += peep[H + k] * c[k];
        }
        REAL si = SIG(i), tj = TANH(z[H + k]), sf = SIG(f);
        z[k] = si, z[H + k] = tj, z[2 * H + k] = sf;
        cn[k] = sf * c[k] + si * tj;
    }
    NAME(ln_forward)(H, cn, gs, bs, eps, xs, rs);
    for (int k = 0; k < H; k++) {
        REAL v = cn[k];
        if (has_clip) {
            up[k] = v;
            v = v > clip ? clip : (v < -clip ? -clip : v);
        }
        REAL o = z[3 * H + k];
        if (has_peep) o += peep[2 * H + k] * v;
        REAL so = SIG(o), t = TANH(v);
        z[3 * H + k] = so;
        cn[k] = v, tc[k] = t, hn[k] = so * t, ob[k] = so * t;
    }
}

static void NAME(lnlstm_row)(int H, REAL* z, REAL* xh, REAL* rs4, const REAL* g4, const REAL* b4, const REAL* gs,
                             const REAL* bs, const REAL* peep, REAL fb, REAL eps, REAL clip, const REAL* c, REAL* cn,
                             REAL* hn, REAL* ob, REAL* tc, REAL* xs, REAL* rs, REAL* up) {
#define LNLSTM_ROW(P, C) \
    NAME(lnlstm_row_body)(H, z, xh, rs4, g4, b4, gs, bs, peep, fb, eps, clip, c, cn, hn, ob, tc, xs, rs, up, P, C)
    if (peep && clip > 0)
        LNLSTM_ROW(1, 1);
    else if (peep)
        LNLSTM_ROW(1, 0);
    else if (clip > 0)
        LNLSTM_ROW(0, 1);
    else
        LNLSTM_ROW(0, 0);
#undef LNLSTM_ROW
}

/* xk [T,B,4H]: x W_x of every step; wh [H,4H]; g4, b4 [4,H]; gs, bs [H]; peep NULL or [3,H] (wi, wf, wo).
 * hs, cs [T+1,B,H] with row 0 set (h0, c0); writes rows 1..T. Writes zs [T,B,4H] (the activated gates), xh4
 * [T,B,4H], rs4 [T,B,4], xs [T,B,H], rs [T,B] (the normalisations' xhat and rstd), tcs [T,B,H] (tanh(c')), ups
 * [T,B,H] when clipping (c~), out [T,B,H] (h_t, zero where a row has ended). */
void NAME(lnlstm_forward)(int T, int B, int H, const REAL* xk, const REAL* wh, const REAL* g4, const REAL* b4,
                          const REAL* gs, const REAL* bs, const REAL* peep, REAL fb, REAL eps, REAL clip, REAL* hs,
                          REAL* cs, REAL* zs, REAL* xh4, REAL* rs4, REAL* xs, REAL* rs, REAL* tcs, REAL* ups,
                          REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 4 * BH;
    for (int t = 0; t < T; t++) {
        REAL* z = zs + t * BG;
        memcpy(z, xk + t * BG, sizeof(REAL) * BG);
        NAME(mm)('N', 'N', B, 4 * H, H, hs + t * BH, H, wh, 4 * H, 1, z, 4 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o, next = now + BH;
            if (!NAME(live)(lens, t, b)) {
                memcpy(cs + next, cs + now, sizeof(REAL) * H);
                memcpy(hs + next, hs + now, sizeof(REAL) * H);
                memset(out + now, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(lnlstm_row)(H, z + 4 * o, xh4 + 4 * now, rs4 + 4 * ((int64_t)t * B + b), g4, b4, gs, bs, peep, fb,
                             eps, clip, cs + now, cs + next, hs + next, out + now, tcs + now, xs + now,
                             rs + (int64_t)t * B + b, clip > 0 ? ups + now : 0);
        }
    }
}

/* One live row of the reverse step. dh: the gradient of h' (carried + the output's); dc: in, of c' (carried),
 * out, of c. Writes dz [4H] (the gradient of z = xk + h W_h) and adds to the parameters' gradients. tmp: 2H. */
static inline __attribute__((always_inline)) void NAME(lnlstm_back_body)(
    int H, const REAL* restrict dh, REAL* restrict dc, const REAL* restrict z, const REAL* restrict xh,
    const REAL* restrict rs4, const REAL* restrict g4, const REAL* restrict gs, const REAL* restrict c,
    const REAL* restrict cn, const REAL* restrict tc, const REAL* restrict xs, REAL rs, const REAL* restrict up,
    const REAL* restrict peep, REAL clip, REAL* restrict dz, REAL* restrict dg4, REAL* restrict db4,
    REAL* restrict dgs, REAL* restrict dbs, REAL* restrict dpeep, REAL* restrict tmp, const int has_peep,
    const int has_clip) {
    REAL* dv = tmp + H;
    for (int k = 0; k < H; k++) {
        REAL so = z[3 * H + k], t = tc[k];
        REAL dop = dh[k] * t * so * ((REAL)1 - so);
        REAL d = dc[k] + dh[k] * so * ((REAL)1 - t * t);
        if (has_peep) {
            d += dop * peep[2 * H + k];
            dpeep[2 * H + k] += dop * cn[k];
        }
        if (has_clip) d = (up[k] > clip || up[k] < -clip) ? (REAL)0 : d; /* clamp: none outside the bounds */
        dz[3 * H + k] = dop;
        dv[k] = d;
    }
    NAME(ln_backward)(H, dv, gs, xs, rs, dgs, dbs, tmp);
    for (int k = 0; k < H; k++) {
        REAL si = z[k], tj = z[H + k], sf = z[2 * H + k], d = dv[k];
        REAL dip = d * tj * si * ((REAL)1 - si);
        REAL djp = d * si * ((REAL)1 - tj * tj);
        REAL dfp = d * c[k] * sf * ((REAL)1 - sf);
        REAL dcp = d * sf;
        if (has_peep) {
            dcp += dip * peep[k] + dfp * peep[H + k];
            dpeep[k] += dip * c[k];
            dpeep[H + k] += dfp * c[k];
        }
        dz[k] = dip, dz[H + k] = djp, dz[2 * H + k] = dfp;
        dc[k] = dcp;
    }
    for (int q = 0; q < 4; q++)
        NAME(ln_backward)(H, dz + q * H, g4 + q * H, xh + q * H, rs4[q], dg4 + q * H, db4 + q * H, tmp);
}

static void NAME(lnlstm_back_row)(int H, const REAL* dh, REAL* dc, const REAL* z, const REAL* xh, const REAL* rs4,
                                  const REAL* g4, const REAL* gs, const REAL* c, const REAL* cn, const REAL* tc,
                                  const REAL* xs, REAL rs, const REAL* up, const REAL* peep, REAL clip, REAL* dz,
                                  REAL* dg4, REAL* db4, REAL* dgs, REAL* dbs, REAL* dpeep, REAL* tmp) {
#define LNLSTM_BACK(P, C)                                                                                         \
    NAME(lnlstm_back_body)(H, dh, dc, z, xh, rs4, g4, gs, c, cn, tc, xs, rs, up, peep, clip, dz, dg4, db4, dgs, \
                           dbs, dpeep, tmp, P, C)
    if (peep && clip > 0)
        LNLSTM_BACK(1, 1);
    else if (peep)
        LNLSTM_BACK(1, 0);
    else if (clip > 0)
        LNLSTM_BACK(0, 1);
    else
        LNLSTM_BACK(0, 0);
#undef LNLSTM_BACK
}

/* dys [T,B,H]: the outputs' gradient; dh, dc [B,H]: in, the final state's gradients, out, the initial state's.
 * wt [4H,H]: W_h transposed (contiguous). cs, zs, xh4, rs4, xs, rs, tcs, ups: the forward's. Writes dzs [T,B,4H]
 * (the gradient of xk, zero where a row has ended) and adds the gradients of g4, b4 [4,H], gs, bs [H] and, with
 * peepholes, dpeep [3,H]. scratch: B H + 3 H. */
void NAME(lnlstm_backward)(int T, int B, int H, const REAL* wt, const REAL* g4, const REAL* gs, const REAL* peep,
                           REAL clip, const REAL* cs, const REAL* zs, const REAL* xh4, const REAL* rs4,
                           const REAL* xs, const REAL* rs, const REAL* tcs, const REAL* ups, const REAL* dys,
                           REAL* dh, REAL* dc, REAL* dzs, REAL* dg4, REAL* db4, REAL* dgs, REAL* dbs, REAL* dpeep,
                           REAL* scratch, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 4 * BH;
    REAL* dhp = scratch;
    REAL* d = scratch + BH;  /* H: the gradient of h' of the row */
    REAL* tmp = d + H;       /* 2H */
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o;
            if (!NAME(live)(lens, t, b)) { /* no step: both state gradients pass through */
                memcpy(dhp + o, dh + o, sizeof(REAL) * H);
                memset(dz + 4 * o, 0, sizeof(REAL) * 4 * H);
                continue;
            }
            memset(dhp + o, 0, sizeof(REAL) * H);
            for (int k = 0; k < H; k++) d[k] = dh[o + k] + dys[now + k];
            NAME(lnlstm_back_row)(H, d, dc + o, zs + t * BG + 4 * o, xh4 + 4 * now, rs4 + 4 * ((int64_t)t * B + b),
                                  g4, gs, cs + now, cs + now + BH, tcs + now, xs + now, rs[(int64_t)t * B + b],
                                  clip > 0 ? ups + now : 0, peep, clip, dz + 4 * o, dg4, db4, dgs, dbs, dpeep, tmp);
        }
        NAME(mm)('N', 'N', B, H, 4 * H, dz, 4 * H, wt, H, 1, dhp, H);
        memcpy(dh, dhp, sizeof(REAL) * BH);
    }
}
