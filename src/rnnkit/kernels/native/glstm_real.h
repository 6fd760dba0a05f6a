/* contrib's GLSTMCell (group LSTM, optional projection) for one real type; sequences.c includes this once per
 * type, after sequences_real.h (whose mm and live it uses), with REAL and SUF defined.
 *
 * G groups; group g reads x_g (its D/G input columns) and m_g (its P/G columns of the previous output) and owns
 * units [g Hg, (g+1) Hg) of every gate (Hg = H/G):
 *   z_g = [x_g, m_g] w_g  (w_g [Dg+Pg, 4Hg], its columns i_g | j_g | f_g | o_g)
 *   i, j, f, o = concat_g of z_g's blocks + bias_i, bias_j, bias_f, bias_o
 *   c' = sigmoid(f + forget_bias) c + sigmoid(i) tanh(j);  h = sigmoid(o) act(c')   (act: tanh or relu)
 *   m' = h proj (proj [H, P]) or h (no projection, P = H)
 *
 * Buffers (row-major, contiguous):
 *   xm [G,T,B,L]: row (g,t,b) is [x_g, m_g] of step t (columns [0, Dg) and [Dg, Dg+Pg); L >= Dg+Pg is the row
 *     stride). The caller fills the x columns of every row and the m columns of t = 0; the forward writes the m
 *     columns of t = 1..T-1. So a step's product is one GEMM per group (K = Dg+Pg), and the kernels' gradients
 *     are one product per group over all T*B rows (the caller's, xm_g^T dz_g).
 *   gs [G,T,B,4Hg]: the products, then the activated gates i, j, f, o (sigmoid(f + forget_bias) for f).
 *   cs [T+1,B,H] (row 0: c0), as [T,B,H] (act(c')), ms [T+1,B,P] (row 0: m0),
 *   hs [T,B,H] (h before the projection; NULL without one: h is m' then), out [T,B,P] (zero where a row has
 *   ended). */

/* One row of one group's forward: the gates (g's four blocks, overwritten with their activations), c, c',
 * act(c') and h. Each block through its own restrict pointer, so that the loops vectorise. */
static void NAME(glstm_row)(int Hg, int relu, REAL fb, REAL* restrict gi, REAL* restrict gj, REAL* restrict gf,
                            REAL* restrict go, const REAL* restrict bi, const REAL* restrict bj,
                            const REAL* restrict bf, const REAL* restrict bo, const REAL* restrict c,
                            REAL* restrict cn, REAL* restrict an, REAL* restrict hn) {
    for (int k = 0; k < Hg; k++) {
        REAL i = SIG(gi[k] + bi[k]), j = TANH(gj[k] + bj[k]);
        REAL f = SIG((gf[k] + bf[k]) + fb), o = SIG(go[k] + bo[k]);
        REAL cc = f * c[k] + i * j;
        gi[k] = i, gj[k] = j, gf[k] = f, go[k] = o, cn[k] = cc;
    }
    /* act(c') and h in a second pass, one loop per activation: with the choice inside the loop above, gcc left
     * it scalar (the forward took 31 ms instead of 6 at the mnist shape, B=128, T=28, H=128, 2 groups) */
    if (relu)
        for (int k = 0; k < Hg; k++) an[k] = NAME(relu)(cn[k]), hn[k] = go[k] * an[k];
    else
        for (int k = 0; k < Hg; k++) an[k] = TANH(cn[k]), hn[k] = go[k] * an[k];
}

/* w [G,Dg+Pg,4Hg]; bias [4,H] (i, j, f, o); proj: NULL or [H,P]. See above for the buffers. */
void NAME(glstm_forward)(int T, int B, int G, int Dg, int Hg, int Pg, int L, int relu, REAL fb, REAL* xm,
                         const REAL* w, const REAL* bias, const REAL* proj, REAL* gs, REAL* cs, REAL* as,
                         REAL* ms, REAL* hs, REAL* out, const int64_t* lens) {
    const int H = G * Hg, P = G * Pg, K = Dg + Pg, N = 4 * Hg;
    const int64_t BH = (int64_t)B * H, BP = (int64_t)B * P, BL = (int64_t)B * L, BN = (int64_t)B * N;
    for (int t = 0; t < T; t++) {
        REAL* mn = ms + (t + 1) * BP;
        REAL* h = proj ? hs + t * BH : mn; /* without a projection h is m' */
        for (int g = 0; g < G; g++)
            NAME(mm)('N', 'N', B, N, K, xm + ((int64_t)g * T + t) * BL, L, w + (int64_t)g * K * N, N, 0,
                     gs + ((int64_t)g * T + t) * BN, N);
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H;
            if (!NAME(live)(lens, t, r)) {
                memcpy(cs + o + BH, cs + o, sizeof(REAL) * H);
                memset(as + o, 0, sizeof(REAL) * H);
                if (proj) memset(h + (int64_t)r * H, 0, sizeof(REAL) * H); /* read by the projection product */
                continue;
            }
            for (int g = 0; g < G; g++) {
                REAL* z = gs + ((int64_t)g * T + t) * BN + (int64_t)r * N;
                const int64_t u = (int64_t)g * Hg;
                NAME(glstm_row)(Hg, relu, fb, z, z + Hg, z + 2 * Hg, z + 3 * Hg, bias + u, bias + H + u,
                                bias + 2 * H + u, bias + 3 * H + u, cs + o + u, cs + o + BH + u, as + o + u,
                                h + (int64_t)r * H + u);
            }
        }
        NAME(project_and_emit)(B, H, P, h, proj, mn, out + t * BP, t, lens);
        if (t + 1 < T) /* m' into each group's next product rows */
            for (int r = 0; r < B; r++)
                for (int g = 0; g < G; g++)
                    memcpy(xm + (((int64_t)g * T + t + 1) * B + r) * L + Dg, mn + (int64_t)r * P + (int64_t)g * Pg,
                           sizeof(REAL) * Pg);
    }
}

/* One row of one group's reverse step, from the stored gates: dh (the gradient of h), dc (in: of c', out: of c);
 * writes the gradients of the four products' blocks (before the bias). One loop per activation (with the choice
 * inside, the loop stays scalar, as glstm_row's). DA: act'(c') from a = act(c') or c'. */
#define GLSTM_GRAD_LOOP(DA)                                                   \
    for (int k = 0; k < Hg; k++) {                                            \
        REAL i = gi[k], j = gj[k], f = gf[k], o = go[k], a = an[k];           \
        REAL dcc = dc[k] + dh[k] * o * (DA);                                  \
        dd[k] = dh[k] * a * o * ((REAL)1 - o);                                \
        di[k] = dcc * j * i * ((REAL)1 - i);                                  \
        dj[k] = dcc * i * ((REAL)1 - j * j);                                  \
        df[k] = dcc * c[k] * f * ((REAL)1 - f);                               \
        dc[k] = dcc * f;                                                      \
    }
static void NAME(glstm_grads)(int Hg, int relu, const REAL* restrict gi, const REAL* restrict gj,
                              const REAL* restrict gf, const REAL* restrict go, const REAL* restrict c,
                              const REAL* restrict cn, const REAL* restrict an, const REAL* restrict dh,
                              REAL* restrict dc, REAL* restrict di, REAL* restrict dj, REAL* restrict df,
                              REAL* restrict dd) {
    if (relu)
        GLSTM_GRAD_LOOP(cn[k] > 0 ? (REAL)1 : (REAL)0)
    else
        GLSTM_GRAD_LOOP((REAL)1 - a * a)
}
#undef GLSTM_GRAD_LOOP

/* dys [T,B,P]; dm [B,P], dc [B,H]: in, the final state's gradients, out, the initial state's. Writes dzs
 * [G,T,B,4Hg] (the products' gradients, zero where a row has ended) and, with a projection, dms [T,B,P] (each
 * step's gradient of m', zero where a row has ended: the projection's gradient is hs^T dms). scratch: B (2P + H). */
void NAME(glstm_backward)(int T, int B, int G, int Dg, int Hg, int Pg, int relu, const REAL* w, const REAL* proj,
                          const REAL* gs, const REAL* cs, const REAL* as, const REAL* dys, REAL* dm, REAL* dc,
                          REAL* dzs, REAL* dms, REAL* scratch, const int64_t* lens) {
    const int H = G * Hg, P = G * Pg, K = Dg + Pg, N = 4 * Hg;
    const int64_t BH = (int64_t)B * H, BP = (int64_t)B * P, BN = (int64_t)B * N;
    REAL* dmt = scratch;      /* [B,P]: the gradient of m' (later steps' and the output's) */
    REAL* dmp = dmt + BP;     /* [B,P]: the gradient of m (this step's input) */
    REAL* dhs = dmp + BP;     /* [B,H]: of h, with a projection */
    for (int t = T - 1; t >= 0; t--) {
        NAME(projected_grad)(B, P, dm, dys + t * BP, dmt, t, lens);
        const REAL* dh = dmt;
        if (proj) {
            memcpy(dms + t * BP, dmt, sizeof(REAL) * BP);
            NAME(mm)('N', 'T', B, H, P, dmt, P, proj, P, 0, dhs, H);
            dh = dhs;
        }
        for (int r = 0; r < B; r++) {
            const int64_t o = t * BH + (int64_t)r * H;
            const int live = NAME(live)(lens, t, r);
            for (int g = 0; g < G; g++) {
                const int64_t z = ((int64_t)g * T + t) * BN + (int64_t)r * N, u = (int64_t)g * Hg;
                if (!live) {
                    memset(dzs + z, 0, sizeof(REAL) * N);
                    continue;
                }
                REAL* d = dzs + z;
                NAME(glstm_grads)(Hg, relu, gs + z, gs + z + Hg, gs + z + 2 * Hg, gs + z + 3 * Hg, cs + o + u,
                                  cs + o + BH + u, as + o + u, dh + (int64_t)r * H + u, dc + (int64_t)r * H + u, d,
                                  d + Hg, d + 2 * Hg, d + 3 * Hg);
            }
        }
        /* m's gradient: group g's columns from its product's m rows (an ended row's dz is zero: then dm) */
        for (int g = 0; g < G; g++)
            NAME(mm)('N', 'T', B, Pg, N, dzs + ((int64_t)g * T + t) * BN, N, w + (int64_t)g * K * N + (int64_t)Dg * N,
                     N, 0, dmp + (int64_t)g * Pg, P);
        for (int r = 0; r < B; r++) {
            const int64_t q = (int64_t)r * P;
            if (!NAME(live)(lens, t, r)) memcpy(dmp + q, dm + q, sizeof(REAL) * P);
        }
        memcpy(dm, dmp, sizeof(REAL) * BP);
    }
}
