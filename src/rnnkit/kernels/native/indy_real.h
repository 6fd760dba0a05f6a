/* The independently recurrent cells (contrib's IndRNNCell, IndyGRUCell, IndyLSTMCell) for one real type;
 * sequences.c includes this once per type, after sequences_real.h, with REAL and SUF defined. Their recurrent
 * weights are diagonal, so a step is pointwise work only: the input products (zx, gx, cx: x W, all steps, without
 * the bias, which the loops add) come from the caller, and the loops here are the whole recurrence. u, ug, uc: the
 * diagonal weights [kH]; b, bg, bc: the biases. The backward adds the row sums of the pre-activation gradients to
 * db (dbg, dbc): the biases' gradients. */

static inline int NAME(ind_live)(const int64_t* lens, int t, int b) { return !lens || t < lens[b]; }

/* ---- IndRNNCell: h' = act(zx + u h), act tanh (relu = 0) or relu (relu = 1) ----
 * hs [T+1,B,H] with hs[0] = h0; writes hs[1..T] and out [T,B,H] (zero where a row has ended). */
void NAME(indrnn_forward)(int T, int B, int H, const REAL* zx, const REAL* u, const REAL* bias, int relu,
                          REAL* hs, REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            const REAL* restrict z = zx + o;
            const REAL* restrict bb = bias;
            const REAL* restrict h = hs + o;
            REAL* restrict hn = hs + o + BH;
            REAL* restrict y = out + o;
            if (!NAME(ind_live)(lens, t, b)) {
                memcpy(hn, h, sizeof(REAL) * H);
                memset(y, 0, sizeof(REAL) * H);
                continue;
            }
            if (relu)
                for (int k = 0; k < H; k++) {
                    REAL v = z[k] + bb[k] + u[k] * h[k];
                    hn[k] = NAME(relu)(v), y[k] = hn[k];
                }
            else
                for (int k = 0; k < H; k++) hn[k] = TANH(z[k] + bb[k] + u[k] * h[k]), y[k] = hn[k];
        }
}

static void NAME(indrnn_back_row)(int H, REAL* restrict d, const REAL* restrict dy, const REAL* restrict h,
                                  const REAL* restrict hn, const REAL* restrict u, int relu, REAL* restrict dz,
                                  REAL* restrict du, REAL* restrict db) {
    if (relu)
        for (int k = 0; k < H; k++) dz[k] = hn[k] > 0 ? d[k] + dy[k] : (REAL)0;
    else
        for (int k = 0; k < H; k++) dz[k] = (d[k] + dy[k]) * ((REAL)1 - hn[k] * hn[k]);
    for (int k = 0; k < H; k++) du[k] += dz[k] * h[k], db[k] += dz[k], d[k] = dz[k] * u[k];
}

/* dys [T,B,H]; dh [B,H]: in, the final state's gradient, out, h0's. Writes dzx [T,B,H]; adds to du, db [H]. */
void NAME(indrnn_backward)(int T, int B, int H, const REAL* u, int relu, const REAL* hs, const REAL* dys, REAL* dh,
                           REAL* dzx, REAL* du, REAL* db, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = T - 1; t >= 0; t--)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(ind_live)(lens, t, b)) {
                memset(dzx + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(indrnn_back_row)(H, dh + (int64_t)b * H, dys + o, hs + o, hs + o + BH, u, relu, dzx + o, du, db);
        }
}

/* ---- IndyGRUCell: r, u = sigmoid(gx + [h, h] ug); c = tanh(cx + r h uc); h' = lerp(c, h, u) ----
 * hs [T+1,B,H] with hs[0] = h0; writes hs[1..T], gs [T,B,2H] (r|u), cs [T,B,H] (c), out [T,B,H]. */
static void NAME(indy_gru_row)(int H, const REAL* restrict gx, const REAL* restrict cx, const REAL* restrict ug,
                               const REAL* restrict uc, const REAL* restrict bg, const REAL* restrict bc,
                               const REAL* restrict h, REAL* restrict g, REAL* restrict c, REAL* restrict hn,
                               REAL* restrict y) {
    for (int k = 0; k < H; k++) {
        REAL r = SIG(gx[k] + bg[k] + h[k] * ug[k]), z = SIG(gx[H + k] + bg[H + k] + h[k] * ug[H + k]);
        REAL cc = TANH(cx[k] + bc[k] + r * h[k] * uc[k]);
        REAL v = cc + z * (h[k] - cc);
        g[k] = r, g[H + k] = z, c[k] = cc, hn[k] = v, y[k] = v;
    }
}

void NAME(indy_gru_forward)(int T, int B, int H, const REAL* gx, const REAL* cx, const REAL* ug, const REAL* uc,
                            const REAL* bg, const REAL* bc, REAL* hs, REAL* gs, REAL* cs, REAL* out,
                            const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(ind_live)(lens, t, b)) {
                memcpy(hs + o + BH, hs + o, sizeof(REAL) * H);
                memset(out + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(indy_gru_row)(H, gx + 2 * o, cx + o, ug, uc, bg, bc, hs + o, gs + 2 * o, cs + o, hs + o + BH,
                               out + o);
        }
}

static void NAME(indy_gru_back_row)(int H, REAL* restrict d, const REAL* restrict dy, const REAL* restrict h,
                                    const REAL* restrict g, const REAL* restrict c, const REAL* restrict ug,
                                    const REAL* restrict uc, REAL* restrict dg, REAL* restrict dc,
                                    REAL* restrict dug, REAL* restrict duc) {
    for (int k = 0; k < H; k++) {
        REAL r = g[k], z = g[H + k], cc = c[k], hp = h[k];
        REAL e = d[k] + dy[k];
        REAL dcz = e * ((REAL)1 - z) * ((REAL)1 - cc * cc);
        REAL drh = dcz * uc[k];
        REAL dr = drh * hp * r * ((REAL)1 - r);
        REAL dz = e * (hp - cc) * z * ((REAL)1 - z);
        dc[k] = dcz, dg[k] = dr, dg[H + k] = dz;
        duc[k] += dcz * r * hp, dug[k] += dr * hp, dug[H + k] += dz * hp;
        d[k] = e * z + drh * r + dr * ug[k] + dz * ug[H + k];
    }
}

/* dys [T,B,H]; dh [B,H] in/out. Writes dgs [T,B,2H], dcs [T,B,H] (the gradients of gx, cx); adds to dug, dbg
 * [2H] and duc, dbc [H]. */
void NAME(indy_gru_backward)(int T, int B, int H, const REAL* ug, const REAL* uc, const REAL* hs, const REAL* gs,
                             const REAL* cs, const REAL* dys, REAL* dh, REAL* dgs, REAL* dcs, REAL* dug, REAL* duc,
                             REAL* dbg, REAL* dbc, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = T - 1; t >= 0; t--)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(ind_live)(lens, t, b)) {
                memset(dgs + 2 * o, 0, sizeof(REAL) * 2 * H);
                memset(dcs + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(indy_gru_back_row)(H, dh + (int64_t)b * H, dys + o, hs + o, gs + 2 * o, cs + o, ug, uc, dgs + 2 * o,
                                    dcs + o, dug, duc);
            for (int k = 0; k < 2 * H; k++) dbg[k] += dgs[2 * o + k];
            for (int k = 0; k < H; k++) dbc[k] += dcs[o + k];
        }
}

/* ---- IndyLSTMCell: i, j, f, o = zx + [h, h, h, h] u; c' = c sigmoid(f + fb) + sigmoid(i) tanh(j);
 * h' = tanh(c') sigmoid(o). cs, hs [T+1,B,H] with row 0 set; writes rows 1..T, gs [T,B,4H] (sigmoid(i),
 * tanh(j), sigmoid(f + fb), sigmoid(o)), tcs [T,B,H] (tanh(c')), out [T,B,H]. */
static void NAME(indy_lstm_row)(int H, const REAL* restrict z, const REAL* restrict u, const REAL* restrict bs,
                                REAL fb, const REAL* restrict c, const REAL* restrict h, REAL* restrict g,
                                REAL* restrict cn, REAL* restrict hn, REAL* restrict tc, REAL* restrict y) {
    for (int k = 0; k < H; k++) {
        REAL si = SIG(z[k] + bs[k] + h[k] * u[k]), tj = TANH(z[H + k] + bs[H + k] + h[k] * u[H + k]);
        REAL sf = SIG(z[2 * H + k] + bs[2 * H + k] + h[k] * u[2 * H + k] + fb);
        REAL so = SIG(z[3 * H + k] + bs[3 * H + k] + h[k] * u[3 * H + k]);
        REAL v = c[k] * sf + si * tj, t = TANH(v);
        g[k] = si, g[H + k] = tj, g[2 * H + k] = sf, g[3 * H + k] = so;
        cn[k] = v, tc[k] = t, hn[k] = t * so, y[k] = t * so;
    }
}

void NAME(indy_lstm_forward)(int T, int B, int H, const REAL* zx, const REAL* u, const REAL* bias, REAL fb,
                             REAL* cs, REAL* hs, REAL* gs, REAL* tcs, REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(ind_live)(lens, t, b)) {
                memcpy(cs + o + BH, cs + o, sizeof(REAL) * H);
                memcpy(hs + o + BH, hs + o, sizeof(REAL) * H);
                memset(out + o, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(indy_lstm_row)(H, zx + 4 * o, u, bias, fb, cs + o, hs + o, gs + 4 * o, cs + o + BH, hs + o + BH,
                                tcs + o, out + o);
        }
}

static void NAME(indy_lstm_back_row)(int H, REAL* restrict dm, REAL* restrict dc, const REAL* restrict dy,
                                     const REAL* restrict g, const REAL* restrict c, const REAL* restrict h,
                                     const REAL* restrict tc, const REAL* restrict u, REAL* restrict dz,
                                     REAL* restrict du, REAL* restrict db) {
    for (int k = 0; k < H; k++) {
        REAL si = g[k], tj = g[H + k], sf = g[2 * H + k], so = g[3 * H + k];
        REAL e = dm[k] + dy[k];
        REAL dop = e * tc[k] * so * ((REAL)1 - so);
        REAL dv = dc[k] + e * so * ((REAL)1 - tc[k] * tc[k]);
        REAL dip = dv * tj * si * ((REAL)1 - si), djp = dv * si * ((REAL)1 - tj * tj);
        REAL dfp = dv * c[k] * sf * ((REAL)1 - sf);
        dz[k] = dip, dz[H + k] = djp, dz[2 * H + k] = dfp, dz[3 * H + k] = dop;
        dc[k] = dv * sf;
        dm[k] = dip * u[k] + djp * u[H + k] + dfp * u[2 * H + k] + dop * u[3 * H + k];
    }
    /* the diagonal weights' gradient, from the row while it is in cache (in the loop above it stops the
     * vectoriser) */
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < H; k++) du[q * H + k] += dz[q * H + k] * h[k], db[q * H + k] += dz[q * H + k];
}

/* dys [T,B,H]; dm, dc [B,H] in/out. Writes dzs [T,B,4H] (the gradient of zx); adds to du, db [4H]. */
void NAME(indy_lstm_backward)(int T, int B, int H, const REAL* u, const REAL* cs, const REAL* hs, const REAL* gs,
                              const REAL* tcs, const REAL* dys, REAL* dm, REAL* dc, REAL* dzs, REAL* du, REAL* db,
                              const int64_t* lens) {
    const int64_t BH = (int64_t)B * H;
    for (int t = T - 1; t >= 0; t--)
        for (int b = 0; b < B; b++) {
            const int64_t o = t * BH + (int64_t)b * H;
            if (!NAME(ind_live)(lens, t, b)) {
                memset(dzs + 4 * o, 0, sizeof(REAL) * 4 * H);
                continue;
            }
            NAME(indy_lstm_back_row)(H, dm + (int64_t)b * H, dc + (int64_t)b * H, dys + o, gs + 4 * o, cs + o,
                                     hs + o, tcs + o, u, dzs + 4 * o, du, db);
        }
}
