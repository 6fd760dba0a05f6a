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
 * and the gradient goes back the same way: each gate block is one transpose (below), and all arrays are
 * contiguous. */
#define LAYOUT_TILE 16
#define SRC_BLOCK(s) ((s) == 1 ? 2 : (s) == 2 ? 1 : (s))

/* The AVX blocks (defined once for both types); without AVX (ARM, a build without -march=native) the scalar
 * tiles below do all of it. */
#if defined(__AVX__) && !defined(LAYOUT_AVX)
#define LAYOUT_AVX
#include <immintrin.h>
#define LAYOUT_V_f32 8
#define LAYOUT_V_f64 4

/* The first of the v elements from i on, kept inside n >= v: the last block of a row or column overlaps. */
static inline int64_t layout_start(int64_t i, int64_t v, int64_t n) { return i + v <= n ? i : n - v; }

/* d[c * ldd + r] = s[r * lds + c] for r, c < 8: eight row loads, three rounds of shuffles, eight row stores. */
static inline void layout_block_f32(const float *s, int64_t lds, float *d, int64_t ldd) {
    __m256 r0 = _mm256_loadu_ps(s + 0 * lds), r1 = _mm256_loadu_ps(s + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    /* pairs of rows interleaved: t0 = (r0[0], r1[0], r0[1], r1[1] | r0[4], r1[4], r0[5], r1[5]) */
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    /* quads: u0 = (r0[0], r1[0], r2[0], r3[0] | r0[4], r1[4], r2[4], r3[4]) */
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    /* 128-bit halves: column c of rows 0-3 with column c of rows 4-7 */
    _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* The same for 4 x 4 doubles: t0 = (r0[0], r1[0] | r0[2], r1[2]), then the 128-bit halves. */
static inline void layout_block_f64(const double *s, int64_t lds, double *d, int64_t ldd) {
    __m256d r0 = _mm256_loadu_pd(s + 0 * lds), r1 = _mm256_loadu_pd(s + 1 * lds);
    __m256d r2 = _mm256_loadu_pd(s + 2 * lds), r3 = _mm256_loadu_pd(s + 3 * lds);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d + 0 * ldd, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + 1 * ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#endif

/* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, one scalar at a time: the portable path (no AVX:
 * ARM, a build without -march=native) and the one for arrays narrower than a vector block. The inner loop runs
 * along the array with the longer rows: the other one is walked with a stride of its row length, and a long
 * power-of-two stride maps a tile's lines onto one cache set. Measured (one thread, all four blocks): the mnist
 * kernel's shuffle 23 us against 44 with the other order; a [1024, 2048] kernel's gradient 1.25 ms against 7.0. */
static void NAME(transpose_scalar)(int64_t rows, int64_t cols, const REAL *src, int64_t lds, REAL *dst,
                                   int64_t ldd) {
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

#if defined(LAYOUT_AVX)
/* The same with AVX, in V x V blocks (V = 8 floats or 4 doubles, one 32-byte register per row) transposed in
 * registers, for rows, cols >= V. Where rows or cols is not a multiple of V, the last block starts at rows - V
 * (cols - V) and overlaps the one before: it writes the same values again, which is exact for a copy. The order
 * of the blocks is what counts: in a training step both arrays are cache-cold (the source was last touched by
 * the optimizer, the destination is fresh memory), so the time goes to cache misses, and the two orders below
 * keep more of them in flight than the scalar tiles do. Measured, one thread, caches flushed before each call
 * (the scalar tiles in brackets, a memmove of the same bytes in braces), forward / gradient: float32 [156, 512]
 * 16-18 / 16-20 us [99-101 / 28-30] {13-15}; float32 [1024, 2048] 0.85 / 0.91 ms [2.2 / 2.6] {0.59}; float64
 * [1024, 2048] 2.2 / 2.0 ms [7.3 / 3.5] {1.5}. In the mnist training step (float32 [156, 512], 2 threads): 44-62
 * / 53 us [103-147 / 76-87], a memmove in the same place 33-45 / 43-44; with a busy host the gradient takes
 * 100-116 us [114-126], and so does the memmove (108-139). */

/* The source has the long rows (the forward): square tiles of one cache line a side (2 x 2 blocks), along the
 * source's rows, so that each line on either side is read or written whole, once; the next tile's source lines
 * are prefetched by hand (rows a page or more apart, which the hardware prefetchers follow poorly). */
static void NAME(transpose_tiles)(int64_t rows, int64_t cols, const REAL *src, int64_t lds, REAL *dst,
                                  int64_t ldd) {
    const int64_t v = NAME(LAYOUT_V), t = 64 / (int64_t)sizeof(REAL);
    for (int64_t r0 = 0; r0 < rows; r0 += t) {
        int64_t r1 = r0 + t < rows ? r0 + t : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += t) {
            int64_t c1 = c0 + t < cols ? c0 + t : cols;
            for (int64_t r = r0; c1 < cols && r < r1; r++) /* forward 44-50 us in the step, 53-57 without */
                _mm_prefetch((const char *)(src + r * lds + c1), _MM_HINT_T0);
            for (int64_t rb = r0; rb < r1; rb += v) {
                int64_t r = layout_start(rb, v, rows);
                for (int64_t cb = c0; cb < c1; cb += v) {
                    int64_t c = layout_start(cb, v, cols);
                    NAME(layout_block)(src + r * lds + c, lds, dst + c * ldd + r, ldd);
                }
            }
        }
    }
}

/* The destination has the long rows (the gradient): strips of V destination rows, each strip written front to
 * back. Strips a cache line wide (the tiles' order, 16 float rows) were slower here, float64 [1024, 2048] 4.1 ms
 * against 2.0, likely because the destination's power-of-two row stride puts more rows than the cache has ways
 * onto one set; strips of V rows also beat the tiles above for the mnist gradient (24-29 against 30-32 us). */
static void NAME(transpose_strips)(int64_t rows, int64_t cols, const REAL *src, int64_t lds, REAL *dst,
                                   int64_t ldd) {
    const int64_t v = NAME(LAYOUT_V);
    for (int64_t cb = 0; cb < cols; cb += v) {
        int64_t c = layout_start(cb, v, cols);
        for (int64_t rb = 0; rb < rows; rb += v) {
            int64_t r = layout_start(rb, v, rows);
            NAME(layout_block)(src + r * lds + c, lds, dst + c * ldd + r, ldd);
        }
    }
}
#endif

static void NAME(transpose)(int64_t rows, int64_t cols, const REAL *src, int64_t lds, REAL *dst, int64_t ldd) {
#if defined(LAYOUT_AVX)
    if (rows >= NAME(LAYOUT_V) && cols >= NAME(LAYOUT_V)) {
        if (lds >= ldd)
            NAME(transpose_tiles)(rows, cols, src, lds, dst, ldd);
        else
            NAME(transpose_strips)(rows, cols, src, lds, dst, ldd);
        return;
    }
#endif
    NAME(transpose_scalar)(rows, cols, src, lds, dst, ldd);
}

/* One call's work, either way: to torch (a = kernel, b = bias, c = forget; x = w_ih, y = w_hh, z = b_ih) or back
 * to TF (a = d_w_ih, b = d_w_hh, c = d_b_ih; x = d_kernel, z = d_bias). Each of the four gate blocks is a job. */
struct NAME(layout_job) {
    int64_t d, p, h;
    const REAL *a, *b, *c;
    REAL *x, *y, *z;
    int to_tf;
};

static void NAME(layout_gate)(const struct NAME(layout_job) *j, int s) {
    const int64_t d = j->d, p = j->p, h = j->h, g = 4 * h;
    if (!j->to_tf) {
        const REAL *block = j->a + SRC_BLOCK(s) * h;
        NAME(transpose)(d, h, block, g, j->x + s * h * d, d);
        NAME(transpose)(p, h, block + d * g, g, j->y + s * h * p, p);
        for (int64_t k = 0; k < h; k++) j->z[s * h + k] = j->b[SRC_BLOCK(s) * h + k] + j->c[s * h + k];
    } else {
        REAL *block = j->x + SRC_BLOCK(s) * h;
        NAME(transpose)(h, d, j->a + s * h * d, d, block, g);
        NAME(transpose)(h, p, j->b + s * h * p, p, block + d * g, g);
        for (int64_t k = 0; k < h; k++) j->z[SRC_BLOCK(s) * h + k] = j->c[s * h + k];
    }
}

static void NAME(layout_worker)(void *arg) {
    const struct NAME(layout_job) *j = (const struct NAME(layout_job) *)arg;
    const int n = omp_num_threads();
    for (int s = omp_thread_num(); s < 4; s += n) NAME(layout_gate)(j, s);
}

/* The gate blocks on up to `threads` of torch's threads (at most 4: one block each), else here; kernels under 64K
 * values stay on one thread, where starting the region would cost a sizeable share of the copy. In the mnist
 * inference call at 2 threads (kernel [156, 512], cache-cold there) the re-layout cost 34 us over a kernel call
 * with fixed weights, against 80 us on the calling thread alone. */
static void NAME(layout_run)(const struct NAME(layout_job) *j, int threads) {
    if (threads > 1 && omp_parallel && (j->d + j->p) * 4 * j->h >= 65536) {
        omp_parallel(NAME(layout_worker), (void *)j, (unsigned)(threads < 4 ? threads : 4), 0);
        return;
    }
    for (int s = 0; s < 4; s++) NAME(layout_gate)(j, s);
}

/* TF's kernel and bias -> torch's w_ih [4H, D], w_hh [4H, P] and b_ih [4H] (forget: [4H], added to the bias). */
void NAME(lstm_to_torch)(int64_t d, int64_t p, int64_t h, const REAL *kernel, const REAL *bias, const REAL *forget,
                         REAL *w_ih, REAL *w_hh, REAL *b_ih, int threads) {
    struct NAME(layout_job) j = {d, p, h, kernel, bias, forget, w_ih, w_hh, b_ih, 0};
    NAME(layout_run)(&j, threads);
}

/* The gradient back: d_w_ih [4H, D], d_w_hh [4H, P], d_b_ih [4H] -> d_kernel [D + P, 4H], d_bias [4H]. */
void NAME(lstm_grad_to_tf)(int64_t d, int64_t p, int64_t h, const REAL *d_ih, const REAL *d_hh, const REAL *d_b,
                           REAL *d_kernel, REAL *d_bias, int threads) {
    struct NAME(layout_job) j = {d, p, h, d_ih, d_hh, d_b, d_kernel, 0, d_bias, 1};
    NAME(layout_run)(&j, threads);
}

#undef SRC_BLOCK
#undef LAYOUT_TILE
