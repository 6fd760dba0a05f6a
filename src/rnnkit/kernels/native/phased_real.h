/* contrib's PhasedLSTMCell (Neil et al. 2016) for one real type; sequences.c includes this once per type, after
 * sequences_real.h (mm, live). Shapes: T steps, B rows, D inputs, H units, L the row stride of xm.
 *
 * The gates z = [i | f | j | o] [B,4H] are one product of the row [x_t, h] with w = [mask_gates | new_input |
 * output_gate] (their first D+H rows); with peepholes, c @ wcm (the mask kernel's last H rows) is added to i|f
 * before the pointwise pass and c~ @ wco (the output kernel's last H rows) to o after it, since c~ is computed
 * there. The time gate k comes from the cycle ratio r [T,B,H] (computed by the caller: its modulo, dtype casts and
 * their gradients stay in torch ops) and ratio_on [H]:
 *   k = 2r/ron (r < ron/2),  2 - 2r/ron (r < ron),  leak r (otherwise);   c' = k c~ + (1-k) c,  h' = k h~ + (1-k) h.
 */

/* k of one unit, and what its backward needs: k_up = 2r/ron, and which branch was taken (0 up, 1 down, 2 closed).
 * Written with selects so that the loops calling it vectorise. */
static inline REAL NAME(phased_k)(REAL r, REAL ron, REAL leak, REAL* kup, int* branch) {
    REAL up = (REAL)2 * r / ron;
    int b = r < (REAL)0.5 * ron ? 0 : (r < ron ? 1 : 2);
    *kup = up, *branch = b;
    return b == 0 ? up : (b == 1 ? (REAL)2 - up : leak * r);
}

/* Forward, first pass over a row (every row, live or not: a finished row's values are never read):
 * si, sf = sigmoid(i, f), tj = tanh(j), c~ = c sf + si tj. Stores si, sf, tj over z and c~ in ct. */
static void NAME(phased_row_a)(int H, REAL* restrict z, const REAL* restrict bias, const REAL* restrict c,
                               REAL* restrict ct) {
    for (int k = 0; k < H; k++) {
        REAL si = SIG(z[k] + bias[k]), sf = SIG(z[H + k] + bias[H + k]);
        REAL tj = TANH(z[2 * H + k] + bias[2 * H + k]);
        z[k] = si, z[H + k] = sf, z[2 * H + k] = tj;
        ct[k] = c[k] * sf + si * tj;
    }
}

/* Second pass over a live row: so = sigmoid(o), h~ = tanh(c~) so, then the time gate's blend into cn, hn and the
 * outputs. Stores so over z's o and tanh(c~) in tc. */
static void NAME(phased_row_b)(int H, REAL* restrict z, const REAL* restrict bias, const REAL* restrict r,
                               const REAL* restrict ron, REAL leak, const REAL* restrict c, const REAL* restrict h,
                               const REAL* restrict ct, REAL* restrict tc, REAL* restrict cn, REAL* restrict hn,
                               REAL* restrict ob) {
    for (int k = 0; k < H; k++) {
        REAL up;
        int branch;
        REAL so = SIG(z[3 * H + k] + bias[3 * H + k]), t = TANH(ct[k]);
        REAL g = NAME(phased_k)(r[k], ron[k], leak, &up, &branch);
        REAL v = g * (t * so) + ((REAL)1 - g) * h[k];
        z[3 * H + k] = so, tc[k] = t;
        cn[k] = g * ct[k] + ((REAL)1 - g) * c[k];
        hn[k] = v, ob[k] = v;
    }
}

/* xm [T+1,B,L]: x_t in columns [0, D) of rows t < T, h0 in columns [D, D+H) of row 0; writes h_t there for
 * t = 1..T. w [D+H,4H]; wcm [H,2H] and wco [H,H]: NULL without peepholes; bias [4H]; ratio [T,B,H]; ron [H].
 * cs [T+1,B,H] with row 0 set: writes rows 1..T. Writes gs [T,B,4H] (si, sf, tj, so), cts [T,B,H] (c~),
 * tcs [T,B,H] (tanh c~) and out [T,B,H] (h_t, zero where a row has ended). */
void NAME(phased_forward)(int T, int B, int D, int H, int L, REAL* xm, const REAL* w, const REAL* wcm,
                          const REAL* wco, const REAL* bias, const REAL* ratio, const REAL* ron, REAL leak,
                          REAL* cs, REAL* gs, REAL* cts, REAL* tcs, REAL* out, const int64_t* lens) {
    const int K = D + H;
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 4 * BH;
    for (int t = 0; t < T; t++) {
        REAL* g = gs + t * BG;
        REAL* row = xm + t * BL;
        NAME(mm)('N', 'N', B, 4 * H, K, row, L, w, 4 * H, 0, g, 4 * H);
        if (wcm) NAME(mm)('N', 'N', B, 2 * H, H, cs + t * BH, H, wcm, 2 * H, 1, g, 4 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H;
            NAME(phased_row_a)(H, g + 4 * o, bias, cs + t * BH + o, cts + t * BH + o);
        }
        if (wco) NAME(mm)('N', 'N', B, H, H, cts + t * BH, H, wco, H, 1, g + 3 * H, 4 * H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o, next = now + BH;
            const REAL* h = row + (int64_t)b * L + D;
            REAL* h_next = row + BL + (int64_t)b * L + D;
            if (!NAME(live)(lens, t, b)) {
                memcpy(cs + next, cs + now, sizeof(REAL) * H);
                memcpy(h_next, h, sizeof(REAL) * H);
                memset(out + now, 0, sizeof(REAL) * H);
                continue;
            }
            NAME(phased_row_b)(H, g + 4 * o, bias, ratio + now, ron, leak, cs + now, h, cts + now, tcs + now,
                               cs + next, h_next, out + now);
        }
    }
}

/* Reverse step, first pass over a live row: d = dh + dy (the gradient of h'), dc (of c'); the time gate's
 * gradient dk = dc (c~ - c) + d (h~ - h) gives dr (the cycle ratio's) and adds to dron; the gradients of the old
 * state's direct paths dhp = d (1-k), dc = dc (1-k); dzo (the output gate's pre-activation) and dct (c~'s, before
 * the peephole term of o). The bias's o part is summed in. */
static void NAME(phased_back_a)(int H, const REAL* restrict dh, const REAL* restrict dy, REAL* restrict dc,
                                const REAL* restrict r, const REAL* restrict ron, REAL leak,
                                const REAL* restrict c, const REAL* restrict h, const REAL* restrict ct,
                                const REAL* restrict tc, const REAL* restrict so_, REAL* restrict dhp,
                                REAL* restrict dct, REAL* restrict dzo, REAL* restrict dr, REAL* restrict dron,
                                REAL* restrict dbo) {
    for (int k = 0; k < H; k++) {
        REAL up;
        int branch;
        REAL g = NAME(phased_k)(r[k], ron[k], leak, &up, &branch);
        REAL d = dh[k] + dy[k], dcn = dc[k], so = so_[k], t = tc[k];
        REAL dk = dcn * ct[k] - dcn * c[k] + d * (t * so) - d * h[k];
        /* k_up = (2 r) / ron: d(2r) = dk_up / ron, dron = -dk_up k_up / ron (torch's division rule) */
        REAL dup = branch == 0 ? dk : (branch == 1 ? -dk : (REAL)0);
        dr[k] = branch == 2 ? dk * leak : (REAL)2 * (dup / ron[k]);
        dron[k] -= dup * (up / ron[k]);
        REAL dhn = d * g;
        REAL o = dhn * t * so * ((REAL)1 - so);
        dct[k] = dcn * g + dhn * so * ((REAL)1 - t * t);
        dhp[k] = d * ((REAL)1 - g);
        dc[k] = dcn * ((REAL)1 - g);
        dzo[k] = o;
        dbo[k] += o;
    }
}

/* The timestamps' path of a live row, when the caller wants it from here (the cycle ratio r = m / period computed
 * in the inputs' dtype, m = mod(time - phase, period) with the gradient of time - phase): q = dr / period, the
 * row's time gets sum(q), phase -q, period -dr (r / period) (torch's rule for a quotient's divisor). */
static void NAME(phased_back_time)(int H, const REAL* restrict dr, const REAL* restrict r, const REAL* restrict p,
                                   REAL* restrict dtime, REAL* restrict dphase, REAL* restrict dperiod) {
    REAL sum = 0;
    for (int k = 0; k < H; k++) {
        REAL q = dr[k] / p[k];
        sum += q;
        dphase[k] -= q;
        dperiod[k] -= dr[k] * (r[k] / p[k]);
    }
    *dtime = sum;
}

/* Second pass over a live row, with dct complete: the mask gates' and the candidate's pre-activation gradients
 * (into dz's i, f, j), their bias's, and c's gradient through the forget gate. */
static void NAME(phased_back_b)(int H, const REAL* restrict g, const REAL* restrict c, const REAL* restrict dct,
                                REAL* restrict dc, REAL* restrict dz, REAL* restrict db) {
    for (int k = 0; k < H; k++) {
        REAL si = g[k], sf = g[H + k], tj = g[2 * H + k], dv = dct[k];
        REAL di = dv * tj * si * ((REAL)1 - si);
        REAL df = dv * c[k] * sf * ((REAL)1 - sf);
        REAL dj = dv * si * ((REAL)1 - tj * tj);
        dc[k] += dv * sf;
        dz[k] = di, dz[H + k] = df, dz[2 * H + k] = dj;
    }
    for (int k = 0; k < 3 * H; k++) db[k] += dz[k];
}

/* dys [T,B,H]; dh, dc [B,H]: in, the final state's gradients, out, the initial state's. wt [4H,H]: w's h rows
 * transposed (contiguous); wcm, wco as in the forward; xm, cs, gs, cts, tcs: the forward's. Writes dzs [T,B,4H]
 * (the gates' pre-activation gradients) and dr [T,B,H] (the cycle ratio's; zero where a row has ended), adds to
 * db [4H] (the bias's gradient) and dron [H] (ratio_on's). With dtime (else NULL): period [H], and the timestamps'
 * path done here (phased_back_time): writes dtime [T,B], adds to dphase and dperiod [H]. scratch: 2 B H. */
void NAME(phased_backward)(int T, int B, int D, int H, int L, const REAL* wt, const REAL* wcm, const REAL* wco,
                           const REAL* ratio, const REAL* ron, REAL leak, const REAL* xm, const REAL* cs,
                           const REAL* gs, const REAL* cts, const REAL* tcs, const REAL* dys, REAL* dh, REAL* dc,
                           REAL* dzs, REAL* dr, REAL* dron, REAL* db, const REAL* period, REAL* dtime,
                           REAL* dphase, REAL* dperiod, REAL* scratch, const int64_t* lens) {
    const int64_t BL = (int64_t)B * L, BH = (int64_t)B * H, BG = 4 * BH;
    REAL* dhp = scratch;
    REAL* dct = scratch + BH;
    for (int t = T - 1; t >= 0; t--) {
        REAL* dz = dzs + t * BG;
        const REAL* g = gs + t * BG;
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H, now = t * BH + o;
            if (!NAME(live)(lens, t, b)) { /* no step: both state gradients pass through */
                memcpy(dhp + o, dh + o, sizeof(REAL) * H);
                memset(dct + o, 0, sizeof(REAL) * H);
                memset(dz + 4 * o, 0, sizeof(REAL) * 4 * H);
                memset(dr + now, 0, sizeof(REAL) * H);
                if (dtime) dtime[(int64_t)t * B + b] = 0;
                continue;
            }
            NAME(phased_back_a)(H, dh + o, dys + now, dc + o, ratio + now, ron, leak, cs + now,
                                xm + t * BL + (int64_t)b * L + D, cts + now, tcs + now, g + 4 * o + 3 * H,
                                dhp + o, dct + o, dz + 4 * o + 3 * H, dr + now, dron, db + 3 * H);
            if (dtime)
                NAME(phased_back_time)(H, dr + now, ratio + now, period, dtime + (int64_t)t * B + b, dphase,
                                       dperiod);
        }
        if (wco) NAME(mm)('N', 'T', B, H, H, dz + 3 * H, 4 * H, wco, H, 1, dct, H);
        for (int b = 0; b < B; b++) {
            const int64_t o = (int64_t)b * H;
            if (NAME(live)(lens, t, b))
                NAME(phased_back_b)(H, g + 4 * o, cs + t * BH + o, dct + o, dc + o, dz + 4 * o, db);
        }
        if (wcm) NAME(mm)('N', 'T', B, H, 2 * H, dz, 4 * H, wcm, 2 * H, 1, dc, H);
        NAME(mm)('N', 'N', B, H, 4 * H, dz, 4 * H, wt, H, 1, dhp, H);
        memcpy(dh, dhp, sizeof(REAL) * BH);
    }
}
