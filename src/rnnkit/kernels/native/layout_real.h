/* The fused LSTM's weight re-layout for one real type (cells/lstm_layout.py, NOTE [native re-layout]); sequences.c
 * includes this once per type.
 *
 * TF keeps kernel [R, 4H] (R = D + P rows: x then h; gate column blocks i, j, f, o) and bias [4H]; torch's LSTM
 * takes w_ih [4H, D], w_hh [4H, P] and b_ih [4H] with gate row blocks i, f, j, o. Torch's slot s reads TF's block
 * SRC(s) = (0, 2, 1, 3)[s], which is its own inverse:
 *
 *     w_ih[s*H + k, r] = kernel[r, SRC(s)*H + k]        (r < D)
 *     w_hh[s*H + k, r - D] = kernel[r, SRC(s)*H + k]    (r >= D)
 *     b_ih[s*H + k] = bias[SRC(s)*H + k] + forget[s*H + k]
 *
 * and the gradient goes back the same way. The transposes run in square tiles so that both sides stay in cache;
 * all arrays are contiguous. */
#define LAYOUT_TILE 16
#define SRC_BLOCK(s) ((s) == 1 ? 2 : (s) == 2 ? 1 : (s))

/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols. The inner loop runs along the array with the
 * longer rows: the other one is walked with a stride of its row length, and a long power-of-two stride maps a
 * tile's lines onto one cache set. Measured (one thread, all four blocks): the mnist kernel's shuffle 23 us
 * against 44 with the other order; a [1024, 2048] kernel's gradient 1.25 ms against 7.0. */
static void NAME(transpose)(int64_t rows, int64_t cols, const REAL *src, int64_t lds, REAL *dst, int64_t ldd) {
    for (int64_t r0 = 0; r0 < rows; r0 += LAYOUT_TILE) {
        int64_t r1 = r0 + LAYOUT_TILE < rows ? r0 + LAYOUT_TILE : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += LAYOUT_TILE) {
            int64_t c1 = c0 + LAYOUT_TILE < cols ? c0 + LAYOUT_TILE : cols;
            if (lds >= ldd) { /* along src's rows */
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t c = c0; c < c1; c++) dst[c * ldd + r] = src[r * lds + c];
            } else { /* along dst's rows */
                for (int64_t c = c0; c < c1; c++)
                    for (int64_t r = r0; r < r1; r++) dst[c * ldd + r] = src[r * lds + c];
            }
        }
    }
}

/* TF's kernel and bias -> torch's w_ih [4H, D], w_hh [4H, P] and b_ih [4H] (forget: [4H], added to the bias). */
void NAME(lstm_to_torch)(int64_t d, int64_t p, int64_t h, const REAL *kernel, const REAL *bias, const REAL *forget,
                         REAL *w_ih, REAL *w_hh, REAL *b_ih) {
    int64_t g = 4 * h;
    for (int s = 0; s < 4; s++) {
        const REAL *block = kernel + SRC_BLOCK(s) * h;
        NAME(transpose)(d, h, block, g, w_ih + s * h * d, d);
        NAME(transpose)(p, h, block + d * g, g, w_hh + s * h * p, p);
        for (int64_t k = 0; k < h; k++) b_ih[s * h + k] = bias[SRC_BLOCK(s) * h + k] + forget[s * h + k];
    }
}

/* The gradient back: d_w_ih [4H, D], d_w_hh [4H, P], d_b_ih [4H] -> d_kernel [D + P, 4H], d_bias [4H]. */
void NAME(lstm_grad_to_tf)(int64_t d, int64_t p, int64_t h, const REAL *d_ih, const REAL *d_hh, const REAL *d_b,
                           REAL *d_kernel, REAL *d_bias) {
    int64_t g = 4 * h;
    for (int s = 0; s < 4; s++) {
        REAL *block = d_kernel + SRC_BLOCK(s) * h;
        NAME(transpose)(h, d, d_ih + s * h * d, d, block, g);
        NAME(transpose)(h, p, d_hh + s * h * p, p, block + d * g, g);
        for (int64_t k = 0; k < h; k++) d_bias[SRC_BLOCK(s) * h + k] = d_b[s * h + k];
    }
}

#undef SRC_BLOCK
#undef LAYOUT_TILE
