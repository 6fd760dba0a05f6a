/* contrib's convolutional LSTMs (kernels/conv_lstm.py) for one real type: the pointwise work of one step, in one
 * pass over the step's pixels (the convolutions stay in torch). sequences.c includes this once per type, after
 * sequences_real.h (whose `live` rule it uses), with REAL and SUF defined.
 *
 * Rows are pixels: B*P rows of K channels, batch row b = r / P, so a row ends with its batch row (lens, t). The
 * step's pre-activations z [B*P, 4K] (i, j, f, o) come with j doubled and forget_bias folded into f's bias, so
 * tanh(j) = 2 sigmoid(z_j) - 1, as the torch-op loop of conv_lstm.py computes it. */

/* c' = f c + i tanh(j), h' = tanh(c') o. c, c_next [B*P, K]; h_prev, h_next: rows of stride ldh (the h part of the
 * [x, h] buffer). A carried row copies c and h. With a (not NULL), for the backward: a [B*P, 4K] the sigmoids,
 * k [B*P, 4K] the gate factors a (1 - a) [tanh j, 2 i, c, tanh c'], ac [B*P, K] = o (1 - tanh^2 c') (carried rows
 * are left unwritten: the backward never reads them). */
static void NAME(conv_row)(int K, const REAL* restrict z, const REAL* restrict c, REAL* restrict cn,
                           REAL* restrict hn) {
    for (int u = 0; u < K; u++) {
        REAL ai = SIG(z[u]), aj = SIG(z[K + u]), af = SIG(z[2 * K + u]), ao = SIG(z[3 * K + u]);
        REAL v = af * c[u] + ai * ((REAL)2 * aj - (REAL)1);
        cn[u] = v, hn[u] = TANH(v) * ao;
    }
}

/* The same, keeping a, k and ac (two passes: one loop doing both does not vectorise). */
static void NAME(conv_row_saved)(int K, const REAL* restrict z, const REAL* restrict c, REAL* restrict cn,
                                 REAL* restrict hn, REAL* restrict a, REAL* restrict k, REAL* restrict ac) {
    for (int u = 0; u < 4 * K; u++) a[u] = SIG(z[u]);
    for (int u = 0; u < K; u++) {
        REAL ai = a[u], g = (REAL)2 * a[K + u] - (REAL)1;
        REAL v = a[2 * K + u] * c[u] + ai * g;
        cn[u] = v, ac[u] = TANH(v);  /* tanh(c') for now */
        hn[u] = ac[u] * a[3 * K + u];
    }
    for (int u = 0; u < K; u++) {
        REAL ai = a[u], aj = a[K + u], af = a[2 * K + u], ao = a[3 * K + u], tc = ac[u];
        k[u] = ai * ((REAL)1 - ai) * ((REAL)2 * aj - (REAL)1);
        k[K + u] = aj * ((REAL)1 - aj) * ai * (REAL)2;
        k[2 * K + u] = af * ((REAL)1 - af) * c[u];
        k[3 * K + u] = ao * ((REAL)1 - ao) * tc;
        ac[u] = ao - hn[u] * tc;
    }
}

void NAME(conv_lstm_step)(int B, int P, int K, int t, const int64_t* lens, const REAL* z, const REAL* c,
                          REAL* c_next, const REAL* h_prev, REAL* h_next, int ldh, REAL* a, REAL* k, REAL* ac) {
    for (int b = 0; b < B; b++) {
        const int live = NAME(live)(lens, t, b);
        for (int64_t r = (int64_t)b * P; r < (int64_t)(b + 1) * P; r++) {
            if (!live) {
                memcpy(c_next + r * K, c + r * K, sizeof(REAL) * K);
                memcpy(h_next + r * ldh, h_prev + r * ldh, sizeof(REAL) * K);
            } else if (a) {
                NAME(conv_row_saved)(K, z + r * 4 * K, c + r * K, c_next + r * K, h_next + r * ldh, a + r * 4 * K,
                                     k + r * 4 * K, ac + r * K);
            } else {
                NAME(conv_row)(K, z + r * 4 * K, c + r * K, c_next + r * K, h_next + r * ldh);
            }
        }
    }
}

/* One reverse step. dh, dc [B*P, K]: in, the gradients of h_t and c_t; out: dc holds c_{t-1}'s, dh the part of
 * h_{t-1}'s that bypasses the step (a carried row's whole dh; zero for live rows: the caller adds the transposed
 * convolution of dz). dz [B*P, 4K]: the pre-activations' gradient (zero for carried rows). */
static void NAME(conv_back_row)(int K, const REAL* restrict a, const REAL* restrict k, const REAL* restrict ac,
                                REAL* restrict dh, REAL* restrict dc, REAL* restrict dz) {
    for (int u = 0; u < K; u++) {
        REAL d = dc[u] + dh[u] * ac[u];
        dz[u] = d * k[u], dz[K + u] = d * k[K + u], dz[2 * K + u] = d * k[2 * K + u];
        dz[3 * K + u] = dh[u] * k[3 * K + u];
        dc[u] = d * a[2 * K + u], dh[u] = 0;
    }
}

void NAME(conv_lstm_step_backward)(int B, int P, int K, int t, const int64_t* lens, const REAL* a, const REAL* k,
                                   const REAL* ac, REAL* dh, REAL* dc, REAL* dz) {
    for (int b = 0; b < B; b++) {
        const int live = NAME(live)(lens, t, b);
        for (int64_t r = (int64_t)b * P; r < (int64_t)(b + 1) * P; r++) {
            if (!live)
                memset(dz + r * 4 * K, 0, sizeof(REAL) * 4 * K);
            else
                NAME(conv_back_row)(K, a + r * 4 * K, k + r * 4 * K, ac + r * K, dh + r * K, dc + r * K,
                                    dz + r * 4 * K);
        }
    }
}
