/* contrib's CoupledInputForgetGateLSTMCell (tanh, no layer_norm; peepholes, projection and proj_clip optional)
 * for one real type; sequences.c includes this once per type, after sequences_real.h (whose mm and live it uses),
 * with REAL and SUF defined.
 *
 *   j, f, o = [x, m] W + B                                   W [D+P, 3H], one product (K = D + P)
 *   sf = sigmoid((f + forget_bias) + wf c)                   the input gate is 1 - sf
 *   c' = sf c + (1 - sf) tanh(j)
 *   h  = sigmoid(o + wo c') tanh(c')                         wf, wo: the peepholes (terms only with them)
 *   m' = clip(h Wp, -proj_clip, proj_clip)  or  m' = h       Wp [H, P] (with a projection; else P = H)
 *
 * TF's order of operations is kept: the bias is added to the product, then forget_bias, then the peephole term.
 * The forward keeps the activated gates (tanh(j), sf, so), tanh(c'), every c and the rows [x_t, m_{t-1}]; with a
 * projection also h and the projection before its clip. */

/* One row of the forward: z [3H] (the product; overwritten with tanh(j), sf, so), c [H] -> cn [H], h [H]. */
static inline __attribute__((always_inline)) void NAME(cifg_row_body)(
    int H, REAL* restrict z, const REAL* restrict bias, REAL fb, const REAL* restrict c, const REAL* restrict peep,
    REAL* restrict cn, REAL* restrict tc, REAL* restrict h, const int has_peep) {
    for (int k = 0; k < H; k++) {
        REAL j = z[k] + bias[k], f = z[H + k] + bias[H + k], o = z[2 * H + k] + bias[2 * H + k];
        f = f + fb;
        if (has_peep) f += peep[k] * c[k];
        REAL sf = SIG(f), tj = TANH(j);
        REAL v = sf * c[k] + ((REAL)1 - sf) * tj;
        if (has_peep) o += peep[H + k] * v;
        REAL so = SIG(o), t = TANH(v);
        z[k] = tj, z[H + k] = sf, z[2 * H + k] = so;
        cn[k] = v, tc[k] = t, h[k] = so * t;
    }
}

static void NAME(cifg_row)(int H, REAL* z, const REAL* bias, REAL fb, const REAL* c, const REAL* peep, REAL* cn,
                           REAL* tc, REAL* h) {
    if (peep)
        NAME(cifg_row_body)(H, z, bias, fb, c, peep, cn, tc, h, 1);
    else
        NAME(cifg_row_body)(H, z, bias, fb, c, peep, cn, tc, h, 0);
}

/* The projection of step t's live rows: ps_t = hs_t Wp (all rows; a finished row's h is zero), then
 * m' = clip(ps) into the next buffer row and the outputs, or the carried m where a row has ended. */
static void NAME(cifg_project)(int t, int B, int H, int P, int D, int L, const REAL* proj, REAL clip,
                               const REAL* hs, REAL* ps, REAL* row, REAL* out, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BP = (int64_t)B * P;
    NAME(mm)('N', 'N', B, P, H, hs + t * (int64_t)B * H, H, proj, P, 0, ps + t * BP, P);
    for (int b = 0; b < B; b++) {
        const REAL* p = ps + t * BP + (int64_t)b * P;
        REAL* mn = row + BL + (int64_t)b * L + D;
        REAL* ob = out + t * BP + (int64_t)b * P;
        if (!NAME(live)(lens, t, b)) {
            memcpy(mn, row + (int64_t)b * L + D, sizeof(REAL) * P);
            memset(ob, 0, sizeof(REAL) * P);
            continue;
        }
        for (int k = 0; k < P; k++) {
            REAL v = p[k];
            if (clip > 0) v = v > clip ? clip : (v < -clip ? -clip : v);
            mn[k] = v, ob[k] = v;
        }
    }
}

/* xm [T+1,B,L]: x_t in columns [0, D) of rows t < T, m0 in columns [D, D+P) of row 0; writes m_t there for
 * t = 1..T. w [D+P,3H]; bias [3H]; fb: forget_bias; peep: NULL or [2,H] (wf, wo); proj: NULL (then P = H) or
 * [H,P]; clip <= 0: none. cs [T+1,B,H] with row 0 set; writes rows 1..T, gs [T,B,3H] (tanh(j), sf, so),
 * tcs [T,B,H] (tanh(c')), out [T,B,P] (m_t, zero where a row has ended) and, with a projection, hs [T,B,H] (h,
 * zero where a row has ended) and ps [T,B,P] (h Wp before the clip). */
void NAME(cifg_forward)(int T, int B, int D, int H, int P, int L, REAL* xm, const REAL* w, const REAL* bias,
                        const REAL* peep, const REAL* proj, REAL fb, REAL clip, REAL* cs, REAL* gs, REAL* tcs,
                        REAL* hs, REAL* ps, REAL* out, const int64_t* lens) {
    const int K = D + P;
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 3 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        REAL* row = xm + t * BL;
        NAME(mm)('N', 'N', B, 3 * H, K, row, L, w, 3 * H, 0, g, 3 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o, next = now + BH;
            REAL* m_next = row + BL + (int64_t)b * L + D;
            REAL* h = proj ? hs + now : m_next;
            if (!NAME(live)(lens, t, b)) {  /* no step: the state is carried, the output is zero */
                memcpy(cs + next, cs + now, sizeof(REAL) * H);
                if (proj) {
                    memset(h, 0, sizeof(REAL) * H); /* the weight-gradient product reads it */
                } else {
                    memcpy(m_next, row + (int64_t)b * L + D, sizeof(REAL) * H);
                    memset(out + now, 0, sizeof(REAL) * H);
                }
                continue;
            }
            NAME(cifg_row)(H, g + 3 * o, bias, fb, cs + now, peep, cs + next, tcs + now, h);
            if (!proj) memcpy(out + now, h, sizeof(REAL) * H);
        }
        if (proj) NAME(cifg_project)(t, B, H, P, D, L, proj, clip, hs, ps, row, out, lens);
    }
}

/* One row of the reverse step: dh (the gradient of h), dc (in: of c', out: of c); writes the gate pre-activation
 * gradients dz [3H] (j, f, o), adds them to db and the peephole gradients to dpeep. */
static inline __attribute__((always_inline)) void NAME(cifg_back_body)(
    int H, const REAL* restrict dh, REAL* restrict dc, const REAL* restrict g, const REAL* restrict c,
    const REAL* restrict cn, const REAL* restrict tc, const REAL* restrict peep, REAL* restrict dz,
    REAL* restrict dpeep, const int has_peep) {
    for (int k = 0; k < H; k++) {
        REAL tj = g[k], sf = g[H + k], so = g[2 * H + k];
        REAL d = dh[k];
        REAL dop = d * tc[k] * so * ((REAL)1 - so);
        REAL dv = dc[k] + d * so * ((REAL)1 - tc[k] * tc[k]);
        if (has_peep) dv += dop * peep[H + k];
        REAL djp = dv * ((REAL)1 - sf) * ((REAL)1 - tj * tj);
        REAL dfp = dv * (c[k] - tj) * sf * ((REAL)1 - sf); /* d c'/d sf = c - tanh(j) */
        REAL dcp = dv * sf;
        if (has_peep) {
            dcp += dfp * peep[k];
            dpeep[k] += dfp * c[k];
            dpeep[H + k] += dop * cn[k];
        }
        dz[k] = djp, dz[H + k] = dfp, dz[2 * H + k] = dop;
        dc[k] = dcp;
    }
}

static void NAME(cifg_back_row)(int H, const REAL* dh, REAL* dc, const REAL* g, const REAL* c, const REAL* cn,
                                const REAL* tc, const REAL* peep, REAL* dz, REAL* dpeep, REAL* db) {
    if (peep)
        NAME(cifg_back_body)(H, dh, dc, g, c, cn, tc, peep, dz, dpeep, 1);
    else
        NAME(cifg_back_body)(H, dh, dc, g, c, cn, tc, peep, dz, dpeep, 0);
    for (int k = 0; k < 3 * H; k++) db[k] += dz[k]; /* the bias's gradient, while the row is in cache */
}

/* The gradient of m' (dm carried + dy) for step t's rows, as the gradient of h: without a projection dh = dm + dy;
 * with one, dps = (dm + dy) where -clip <= ps <= clip (clip_by_value's gradient; everywhere without a clip), zero
 * on a finished row, and dh = dps Wp^T (one product for all rows). */
static void NAME(cifg_back_h)(int t, int B, int H, int P, const REAL* projt, REAL clip, const REAL* ps,
                              const REAL* dys, const REAL* dm, REAL* dps, REAL* dh, const int64_t* lens) {
    const int64_t BP = (int64_t)B * P;
    for (int b = 0; b < B; b++) {
        const int64_t q = (int64_t)b * P, now = t * BP + q;
        REAL* d = projt ? dps + now : dh + q;
        if (!NAME(live)(lens, t, b)) {
            memset(d, 0, sizeof(REAL) * P);
            continue;
        }
        for (int k = 0; k < P; k++) {
            REAL v = dm[q + k] + dys[now + k];
            if (projt && clip > 0) v = (ps[now + k] > clip || ps[now + k] < -clip) ? (REAL)0 : v;
            d[k] = v;
        }
    }
    if (projt) NAME(mm)('N', 'N', B, H, P, dps + t * BP, P, projt, H, 0, dh, H);
}

/* dys [T,B,P]; dm [B,P], dc [B,H]: in, the final state's gradients, out, the initial state's. wt [3H,P]: W's
 * recurrent rows transposed (contiguous); projt: NULL or Wp^T [P,H]. cs, gs, tcs, ps: the forward's. Writes dzs
 * [T,B,3H] (the gradient of the gates' pre-activations) and, with a projection, dps [T,B,P] (of the projection
 * before its clip); adds dzs's sum over all rows to db [3H] and, with peepholes, their gradients to dpeep [2,H].
 * scratch: B (H + P). */
void NAME(cifg_backward)(int T, int B, int H, int P, const REAL* wt, const REAL* peep, const REAL* projt, REAL clip,
                         const REAL* cs, const REAL* gs, const REAL* tcs, const REAL* ps, const REAL* dys, REAL* dm,
                         REAL* dc, REAL* dzs, REAL* dps, REAL* dpeep, REAL* db, REAL* scratch,
                         const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BG = 3 * BH, BP = (int64_t)B * P;
    REAL* dh = scratch;
    REAL* dmp = scratch + BH;
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        NAME(cifg_back_h)(t, B, H, P, projt, clip, ps, dys, dm, dps, dh, lens);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o, q = (int64_t)b * P;
            if (!NAME(live)(lens, t, b)) {  /* no step: both state gradients pass through */
                memcpy(dmp + q, dm + q, sizeof(REAL) * P);
                memset(dz + 3 * o, 0, sizeof(REAL) * 3 * H);
                continue;
            }
            memset(dmp + q, 0, sizeof(REAL) * P);
            NAME(cifg_back_row)(H, dh + o, dc + o, gs + t * BG + 3 * o, cs + now, cs + now + BH, tcs + now, peep,
                                dz + 3 * o, dpeep, db);
        }
        NAME(mm)('N', 'N', B, P, 3 * H, dz, 3 * H, wt, P, 1, dmp, P);
        memcpy(dm, dmp, sizeof(REAL) * BP);
    }
}
