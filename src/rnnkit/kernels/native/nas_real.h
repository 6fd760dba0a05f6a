/* contrib's NASCell (optional projection) for one real type; sequences.c includes this once per type, after
 * sequences_real.h (whose mm and live it uses), with REAL and SUF defined.
 *
 * a = x kernel (the caller's product of all steps), b = m recurrent_kernel (+ bias), each split in 8 blocks of H:
 *   l0, l1, l2 = sigmoid(a0 + b0), relu(a1 + b1), sigmoid(a2 + b2);  l3 = relu(a3 * b3)
 *   l4, l5, l6, l7 = tanh(a4 + b4), sigmoid(a5 + b5), tanh(a6 + b6), sigmoid(a7 + b7)
 *   c' = tanh(tanh(l0 l1) + c) tanh(l2 + l3);  h = tanh(c' tanh(tanh(l4 l5) + sigmoid(l6 + l7)))
 *   m' = h proj (proj [H,P], num_proj) or h (P = H)
 * The forward keeps every c and m (and h with a projection), and leaves in a's and b's buffers the gates and
 * intermediate values the backward needs, which then runs no transcendental. relu's gradient is taken where its
 * output is positive (l > 0), which is where its input is (torch's rule). */

/* One row of the forward. a and b are overwritten with what the backward needs (so it runs no transcendental
 * and the buffers do double duty): a's blocks become l0, l1, l2, a3, l4, l5, l6, l7 (block 3 keeps a3, needed
 * for the product's gradient) and b's p, q, u, b3, r, s, v, l3, where p = tanh(l0 l1), q = tanh(l2 + l3),
 * u = tanh(p + c), r = tanh(l4 l5), s = sigmoid(l6 + l7), v = tanh(r + s). Each block through its own restrict
 * pointer (with one pointer and eight offsets the vectoriser cannot rule out overlaps for small H). */
static void NAME(nas_row)(int H, REAL* restrict a0, REAL* restrict a1, REAL* restrict a2,
                          const REAL* restrict a3, REAL* restrict a4, REAL* restrict a5, REAL* restrict a6,
                          REAL* restrict a7, REAL* restrict b0, REAL* restrict b1, REAL* restrict b2,
                          const REAL* restrict b3, REAL* restrict b4, REAL* restrict b5, REAL* restrict b6,
                          REAL* restrict b7, const REAL* restrict c, REAL* restrict cn, REAL* restrict mn) {
    for (int k = 0; k < H; k++) {
        REAL l0 = SIG(a0[k] + b0[k]), l1 = NAME(relu)(a1[k] + b1[k]), l2 = SIG(a2[k] + b2[k]);
        REAL l3 = NAME(relu)(a3[k] * b3[k]), l4 = TANH(a4[k] + b4[k]), l5 = SIG(a5[k] + b5[k]);
        REAL l6 = TANH(a6[k] + b6[k]), l7 = SIG(a7[k] + b7[k]);
        REAL p = TANH(l0 * l1), q = TANH(l2 + l3), u = TANH(p + c[k]);
        REAL r = TANH(l4 * l5), s = SIG(l6 + l7), v = TANH(r + s);
        REAL cc = u * q, m = TANH(cc * v);
        a0[k] = l0, a1[k] = l1, a2[k] = l2, a4[k] = l4, a5[k] = l5, a6[k] = l6, a7[k] = l7;
        b0[k] = p, b1[k] = q, b2[k] = u, b4[k] = r, b5[k] = s, b6[k] = v, b7[k] = l3;
        cn[k] = cc, mn[k] = m;
    }
}

/* as [T,B,8H]: x kernel; rk [P,8H]; bias: NULL or [8H]; proj: NULL or [H,P] (P = H without). cs [T+1,B,H] and
 * ms [T+1,B,P] with row 0 set; writes rows 1..T, bs [T,B,8H] (m recurrent_kernel + bias, then the derived values
 * nas_row leaves there, as in as), hs [T,B,H] with a projection (the values before it, zero where a row has ended;
 * NULL without one: they are m) and out [T,B,P] (zero where a row has ended). */
void NAME(nas_forward)(int T, int B, int H, int P, REAL* as, const REAL* rk, const REAL* bias, const REAL* proj,
                       REAL* cs, REAL* ms, REAL* hs, REAL* bs, REAL* out, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BP = (int64_t)B * P, BG = 8 * BH;
    for (int t = 0; t < T; t++) {
        REAL* b = bs + t * BG;
        REAL* mn = ms + (t + 1) * BP;
        REAL* h = proj ? hs + t * BH : mn; /* without a projection h is m' */
        if (bias)
            for (int r = 0; r < B; r++) memcpy(b + (int64_t)r * 8 * H, bias, sizeof(REAL) * 8 * H);
        NAME(mm)('N', 'N', B, 8 * H, P, ms + t * BP, P, rk, 8 * H, bias ? 1 : 0, b, 8 * H);
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H;
            REAL* hr = h + (int64_t)r * H;
            if (!NAME(live)(lens, t, r)) {
                memcpy(cs + o + BH, cs + o, sizeof(REAL) * H);
                if (proj) memset(hr, 0, sizeof(REAL) * H); /* read by the projection product */
                continue;
            }
            REAL* ar = as + 8 * o;
            REAL* br = b + (int64_t)r * 8 * H;
            NAME(nas_row)(H, ar, ar + H, ar + 2 * H, ar + 3 * H, ar + 4 * H, ar + 5 * H, ar + 6 * H, ar + 7 * H, br,
                          br + H, br + 2 * H, br + 3 * H, br + 4 * H, br + 5 * H, br + 6 * H, br + 7 * H, cs + o,
                          cs + o + BH, hr);
        }
        NAME(project_and_emit)(B, H, P, h, proj, mn, out + t * BP, t, lens);
    }
}

/* One row of the reverse step: dm (in: the gradient of m' from later steps, out: of m), dy (the output's), dc
 * (in: of c', out: of c); writes da [8H] and db [8H], the gradients of a's and b's blocks. */
/* The eight gates of one row, each block through its own restrict pointer (with one pointer and eight offsets
 * the vectoriser cannot rule out overlaps for small H and gives up). */
/* One row of the reverse step from the values nas_row stored (no transcendental): dm (the gradient of m' from
 * later steps), dy (the output's) and dc (in: of c', out: of c); writes the gradients of a's blocks g0..g7 (ga3
 * for block 3) and of b's block 3, gb3 (b's other blocks equal a's). */
static void NAME(nas_grads)(int H, const REAL* restrict l0, const REAL* restrict l1, const REAL* restrict l2,
                            const REAL* restrict a3, const REAL* restrict l4, const REAL* restrict l5,
                            const REAL* restrict l6, const REAL* restrict l7, const REAL* restrict p,
                            const REAL* restrict q, const REAL* restrict u, const REAL* restrict b3,
                            const REAL* restrict r, const REAL* restrict s, const REAL* restrict v,
                            const REAL* restrict l3, const REAL* restrict cn, const REAL* restrict mn,
                            const REAL* restrict dy, const REAL* restrict dm, REAL* restrict dc,
                            REAL* restrict g0, REAL* restrict g1, REAL* restrict g2, REAL* restrict ga3,
                            REAL* restrict g4, REAL* restrict g5, REAL* restrict g6, REAL* restrict g7,
                            REAL* restrict gb3) {
    for (int k = 0; k < H; k++) {
        REAL m = mn[k];
        REAL dmp = (dm[k] + dy[k]) * ((REAL)1 - m * m);
        REAL dcc = dc[k] + dmp * v[k];
        REAL dvp = dmp * cn[k] * ((REAL)1 - v[k] * v[k]);
        REAL d45 = dvp * ((REAL)1 - r[k] * r[k]), d67 = dvp * s[k] * ((REAL)1 - s[k]);
        REAL dup = dcc * q[k] * ((REAL)1 - u[k] * u[k]), dqp = dcc * u[k] * ((REAL)1 - q[k] * q[k]);
        REAL d01 = dup * ((REAL)1 - p[k] * p[k]);
        REAL g3 = l3[k] > 0 ? dqp : (REAL)0;
        g0[k] = d01 * l1[k] * l0[k] * ((REAL)1 - l0[k]);
        g1[k] = l1[k] > 0 ? d01 * l0[k] : (REAL)0;
        g2[k] = dqp * l2[k] * ((REAL)1 - l2[k]);
        ga3[k] = g3 * b3[k], gb3[k] = g3 * a3[k];
        g4[k] = d45 * l5[k] * ((REAL)1 - l4[k] * l4[k]);
        g5[k] = d45 * l4[k] * l5[k] * ((REAL)1 - l5[k]);
        g6[k] = d67 * ((REAL)1 - l6[k] * l6[k]), g7[k] = d67 * l7[k] * ((REAL)1 - l7[k]);
        dc[k] = dup;
    }
}

static void NAME(nas_back_row)(int H, const REAL* a, const REAL* b, const REAL* cn, const REAL* mn,
                               const REAL* dy, const REAL* dm, REAL* dc, REAL* da, REAL* db) {
    NAME(nas_grads)(H, a, a + H, a + 2 * H, a + 3 * H, a + 4 * H, a + 5 * H, a + 6 * H, a + 7 * H, b, b + H,
                    b + 2 * H, b + 3 * H, b + 4 * H, b + 5 * H, b + 6 * H, b + 7 * H, cn, mn, dy, dm, dc, da, da + H,
                    da + 2 * H, da + 3 * H, da + 4 * H, da + 5 * H, da + 6 * H, da + 7 * H, db + 3 * H);
    memcpy(db, da, sizeof(REAL) * 3 * H); /* b's gradient is a's but for block 3 */
    memcpy(db + 4 * H, da + 4 * H, sizeof(REAL) * 4 * H);
}

/* dys [T,B,P]; dm [B,P], dc [B,H]: in, the final state's gradients, out, the initial state's; rkt [8H,P]: the
 * recurrent kernel transposed; proj, hs: as the forward's. Writes das, dbs [T,B,8H] (the gradients of a and b),
 * with a projection dms [T,B,P] (each step's gradient of m', zero where a row has ended: the projection's gradient
 * is hs^T dms); adds b's row sums to dbias [8H] (when not NULL). scratch: B (2P + H) + H. */
void NAME(nas_backward)(int T, int B, int H, int P, const REAL* rkt, const REAL* proj, const REAL* as,
                        const REAL* bs, const REAL* cs, const REAL* ms, const REAL* hs, const REAL* dys, REAL* dm,
                        REAL* dc, REAL* das, REAL* dbs, REAL* dms, REAL* dbias, REAL* scratch, const int64_t* lens) {
    const int64_t BH = (int64_t)B * H, BP = (int64_t)B * P, BG = 8 * BH;
    REAL* dmp = scratch;   /* [B,P]: the gradient of m (this step's input) */
    REAL* dmt = dmp + BP;  /* [B,P]: with a projection, of m' (later steps' and the output's) */
    REAL* dhs = dmt + BP;  /* [B,H]: with a projection, of the values before it */
    REAL* zero = dhs + BH; /* [H] */
    memset(zero, 0, sizeof(REAL) * H);
    for (int t = T - 1; t >= 0; t--) {
        REAL* db = dbs + t * BG;
        if (proj) { /* the projection's reverse: dh = (dm + dy) proj^T, then the rows take dh as their "dy" */
            NAME(projected_grad)(B, P, dm, dys + t * BP, dmt, t, lens);
            memcpy(dms + t * BP, dmt, sizeof(REAL) * BP);
            NAME(mm)('N', 'T', B, H, P, dmt, P, proj, P, 0, dhs, H);
        }
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H, q = (int64_t)r * P;
            if (!NAME(live)(lens, t, r)) {
                memcpy(dmp + q, dm + q, sizeof(REAL) * P);
                memset(das + 8 * o, 0, sizeof(REAL) * 8 * H);
                memset(db + 8 * (int64_t)r * H, 0, sizeof(REAL) * 8 * H);
                continue;
            }
            memset(dmp + q, 0, sizeof(REAL) * P);
            const REAL* h = proj ? hs + o : ms + (t + 1) * BP + q; /* without a projection P = H, h = m' */
            const REAL* dy = proj ? dhs + (int64_t)r * H : dys + t * BP + q;
            NAME(nas_back_row)(H, as + 8 * o, bs + 8 * o, cs + o + BH, h, dy, proj ? zero : dm + q,
                               dc + (int64_t)r * H, das + 8 * o, db + 8 * (int64_t)r * H);
            if (dbias)
                for (int k = 0; k < 8 * H; k++) dbias[k] += db[8 * (int64_t)r * H + k];
        }
        NAME(mm)('N', 'N', B, P, 8 * H, db, 8 * H, rkt, P, 1, dmp, P);
        memcpy(dm, dmp, sizeof(REAL) * BP);
    }
}
